//! `liaison report` with the real binary on a multi-term organization (the
//! local provider, cycles on dates set with the test clock): the page parsed
//! with a real HTML parser, every number on it checked against `history
//! --json` and `status --json` (those marked `data-metric`, the heatmap's
//! tooltips, the lists of unpaired people; and any other digit in the page's
//! text fails the test unless it is part of a name, a unit, an address or
//! the time of writing), a hostile unit name kept as text, nothing
//! external referenced; and each cycle rewrites `state_dir/report.html`.
//! Also `liaison completions` and `liaison man`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

use crate::util::{Run, command};

const HOSTILE_UNIT: &str = "<script>alert(1)</script>";
const HOSTILE_NAME: &str = "Ada <img src=x onerror=alert(2)> & Co";

/// `liaison --config <org>/config.toml ARGS` with the clock at `now`.
fn at(dir: &Path, now: &str, args: &[&str]) -> Run {
    let config = dir.join("config.toml");
    let mut cmd = command(dir.parent().unwrap());
    cmd.env("LIAISON_NOW", now).arg("--config").arg(&config).args(args);
    Run::from(cmd.output().unwrap())
}

fn json(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

/// An 11-person demo organization (odd: someone is unpaired each term) with
/// its bookings and state removed, one unit renamed to markup and one
/// person's name too.
fn org(tmp: &Path) -> PathBuf {
    let dir = tmp.join("org");
    let demo = crate::util::liaison(
        tmp,
        &["demo", "--dir", dir.to_str().unwrap(), "--people", "11", "--seed", "3"],
    );
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    std::fs::remove_file(dir.join("bookings.ics")).unwrap();
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let text = text.replace("unit = \"Legal\"", &format!("unit = {HOSTILE_UNIT:?}"));
    let first_name = text.find("\nname = \"").unwrap() + 1;
    let end = first_name + text[first_name..].find('\n').unwrap();
    let text = format!("{}name = {HOSTILE_NAME:?}{}", &text[..first_name], &text[end..]);
    std::fs::write(dir.join("config.toml"), text).unwrap();
    dir
}

/// Pauses the person of the `n`th `[[people]]` table (their series end early:
/// cancelled connections).
fn pause(dir: &Path, n: usize) -> String {
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut parts: Vec<String> = text.split("[[people]]").map(str::to_string).collect();
    parts[n].push_str("paused = true\n");
    let email = parts[n]
        .lines()
        .find_map(|l| l.strip_prefix("email = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    std::fs::write(&path, parts.join("[[people]]")).unwrap();
    email
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text_of(e: ElementRef<'_>) -> String {
    e.text().collect::<String>().trim().to_string()
}

fn num(e: ElementRef<'_>) -> u64 {
    let t = text_of(e);
    t.parse()
        .unwrap_or_else(|_| panic!("not a number: {t:?} in {}", e.html()))
}

/// Connections of `history --json`, each with its term's index.
fn connections(history: &Value) -> Vec<(i64, &Value)> {
    history["terms"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            let index = t["index"].as_i64().unwrap();
            t["connections"].as_array().unwrap().iter().map(move |c| (index, c))
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.into(), b.into())
    } else {
        (b.into(), a.into())
    }
}

/// What each term row must say, counted here from `history --json` and
/// `status --json` alone.
fn expected_terms(history: &Value, status: &Value) -> BTreeMap<String, BTreeMap<&'static str, u64>> {
    let mut out = BTreeMap::new();
    let mut met: BTreeSet<(String, String)> = BTreeSet::new();
    let mut unit_pairs_so_far: BTreeSet<(String, String)> = BTreeSet::new();
    for term in history["terms"].as_array().unwrap() {
        let cs = term["connections"].as_array().unwrap();
        let email = |c: &Value, s: &str| c[s]["email"].as_str().unwrap().to_string();
        let unit = |c: &Value, s: &str| c[s]["unit"].as_str().unwrap().to_string();
        let pairs: Vec<_> = cs.iter().map(|c| pair(&email(c, "a"), &email(c, "b"))).collect();
        let repeats = pairs.iter().filter(|p| met.contains(*p)).count();
        met.extend(pairs);
        let people: BTreeSet<String> = cs.iter().flat_map(|c| [email(c, "a"), email(c, "b")]).collect();
        let units: BTreeSet<_> = cs
            .iter()
            .filter(|c| unit(c, "a") != unit(c, "b"))
            .map(|c| pair(&unit(c, "a"), &unit(c, "b")))
            .collect();
        unit_pairs_so_far.extend(units.iter().cloned());
        let start = term["start"].as_str().unwrap().to_string();
        let unpaired = status["attention"]["unpaired"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["term"].as_str() == Some(&start))
            .count();
        let row = BTreeMap::from([
            ("term-connections", cs.len() as u64),
            (
                "term-cancelled",
                cs.iter().filter(|c| c["state"] == "cancelled").count() as u64,
            ),
            ("term-repeats", repeats as u64),
            ("term-people", people.len() as u64),
            ("term-unit-pairs", units.len() as u64),
            ("term-unit-pairs-so-far", unit_pairs_so_far.len() as u64),
            ("term-unpaired", unpaired as u64),
        ]);
        out.insert(start, row);
    }
    out
}

#[test]
fn the_report_of_a_multi_term_organization_shows_the_numbers_of_history_and_status_and_escapes_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = org(tmp.path());
    let cfg = liaison::config::load(&dir.join("config.toml")).unwrap();
    let term = |n: i64| {
        cfg.schedule
            .first_term
            .checked_add(jiff::Span::new().weeks(4 * n))
            .unwrap()
    };
    let noon = |d: jiff::civil::Date| format!("{d}T12:00:00Z");
    // Terms 1 and 2 booked ahead; in term 2's second week one person is
    // paused (their series ends early: a cancelled connection), then term 3.
    let days_before = |n: i64| noon(term(n).checked_sub(jiff::Span::new().days(4)).unwrap());
    for now in [days_before(0), days_before(1)] {
        let run = at(&dir, &now, &["run", "--once"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let paused = pause(&dir, 2);
    let mid_term_2 = noon(term(1).checked_add(jiff::Span::new().days(10)).unwrap());
    let last = days_before(2);
    for now in [mid_term_2.clone(), last.clone()] {
        let run = at(&dir, &now, &["run", "--once"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    // Each cycle rewrote the state's report.
    let cycle_page = std::fs::read_to_string(dir.join("state").join("report.html")).unwrap();

    let history = json(&at(&dir, &last, &["history", "--json"]));
    let status = json(&at(&dir, &last, &["status", "--json"]));
    let out = tmp.path().join("out").join("report.html");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let report = at(&dir, &last, &["report", "--out", out.to_str().unwrap()]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(report.stdout.contains("Wrote "), "{}", report.stdout);
    let page = std::fs::read_to_string(&out).unwrap();
    // The same data, the same page (both written at the same clock).
    assert_eq!(page, cycle_page);

    // A multi-term organization with what the report is about.
    let all = connections(&history);
    assert!(history["terms"].as_array().unwrap().len() >= 3, "{history}");
    assert!(
        all.iter().any(|(_, c)| c["state"] == "cancelled"),
        "no cancelled connection"
    );
    assert!(
        all.iter()
            .any(|(_, c)| c["a"]["email"] == paused.as_str() || c["b"]["email"] == paused.as_str())
    );

    let doc = Html::parse_document(&page);
    // Escaped: no script element; the markup is text.
    assert_eq!(doc.select(&sel("script")).count(), 0);
    assert_eq!(doc.select(&sel("img")).count(), 0);
    let text: String = doc.root_element().text().collect();
    assert!(
        text.contains(HOSTILE_UNIT) && text.contains(HOSTILE_NAME),
        "names missing"
    );
    // Nothing external.
    for e in doc.root_element().descendants().filter_map(ElementRef::wrap) {
        for (name, value) in e.value().attrs() {
            assert!(
                !["src", "href", "xlink:href", "action", "srcset"].contains(&name),
                "<{} {name}={value:?}>",
                e.value().name()
            );
        }
        assert!(!["link", "iframe", "object", "embed", "image", "use"].contains(&e.value().name()));
    }
    for forbidden in ["http:", "https:", "url(", "@import"] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }

    // Every number on the page, against the JSON.
    let coverage = &history["coverage"];
    let units: Vec<&str> = coverage["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    let matrix = |a: &str, b: &str| {
        let i = units.iter().position(|u| *u == a).unwrap();
        let j = units.iter().position(|u| *u == b).unwrap();
        coverage["matrix"][i][j].as_u64().unwrap()
    };
    let never_met = (0..units.len())
        .flat_map(|i| (i + 1..units.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| coverage["matrix"][i][j] == 0)
        .count() as u64;
    let terms = expected_terms(&history, &status);
    let of_person = |email: &str| -> Vec<i64> {
        let mut t: Vec<i64> = all
            .iter()
            .filter(|(_, c)| c["a"]["email"] == email || c["b"]["email"] == email)
            .map(|(i, _)| i + 1)
            .collect();
        t.sort();
        t
    };
    let indexes: Vec<i64> = history["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["index"].as_i64().unwrap())
        .collect();
    let (first, latest) = (*indexes.iter().min().unwrap(), *indexes.iter().max().unwrap());
    let waited = |email: &str| match of_person(email).last() {
        Some(t) => latest - (t - 1),
        None => latest - first + 1,
    };
    let current = status["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["current"] == true)
        .unwrap();
    let meetings = current["connections"].as_array().unwrap();
    // Each term's number (index + 1) by its start, from both outputs.
    let term_numbers: BTreeMap<String, i64> = history["terms"]
        .as_array()
        .unwrap()
        .iter()
        .chain(status["terms"].as_array().unwrap())
        .map(|t| {
            (
                t["start"].as_str().unwrap().to_string(),
                t["index"].as_i64().unwrap() + 1,
            )
        })
        .collect();
    let (mut weeks_seen, mut minutes_seen) = (Vec::new(), Vec::new());
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut partner_terms: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in doc.select(&sel("[data-metric]")) {
        let metric = e.value().attr("data-metric").unwrap();
        let row_of = |attr: &str| {
            e.ancestors()
                .filter_map(ElementRef::wrap)
                .find_map(|a| a.value().attr(attr))
                .unwrap_or_else(|| panic!("{metric} outside a row with {attr}"))
                .to_string()
        };
        match metric {
            "connections" => assert_eq!(num(e), history["connections"].as_u64().unwrap()),
            "terms" => assert_eq!(num(e), indexes.len() as u64),
            "people" => assert_eq!(num(e), cfg.people.len() as u64),
            "units" => assert_eq!(num(e), units.len() as u64),
            "unit-pairs-met" => assert_eq!(num(e), coverage["unit_pairs_met"].as_u64().unwrap()),
            "unit-pairs-possible" => assert_eq!(num(e), coverage["unit_pairs_possible"].as_u64().unwrap()),
            "cancelled" => assert_eq!(
                num(e),
                all.iter().filter(|(_, c)| c["state"] == "cancelled").count() as u64
            ),
            "never-met" => assert_eq!(num(e), never_met),
            "cell" => {
                let (a, b) = (e.value().attr("data-row").unwrap(), e.value().attr("data-col").unwrap());
                if a == b && matrix(a, b) == 0 {
                    assert_eq!(text_of(e), "–");
                } else {
                    assert_eq!(num(e), matrix(a, b), "{a} × {b}");
                }
            }
            "term-number" => {
                let start = row_of("data-term");
                assert_eq!(num(e) as i64, term_numbers[&start], "number of term {start}");
            }
            "term-start" => assert_eq!(text_of(e), row_of("data-term")),
            "meeting-term-number" => assert_eq!(num(e) as i64, current["index"].as_i64().unwrap() + 1),
            "meeting-term-start" => assert_eq!(text_of(e), current["start"].as_str().unwrap()),
            "never-met-more" => assert_eq!(num(e), never_met.saturating_sub(100)),
            m if m.starts_with("term-") => {
                let start = row_of("data-term");
                assert_eq!(num(e), terms[&start][m], "{m} of term {start}");
            }
            "person-connections" => {
                let email = row_of("data-email");
                assert_eq!(num(e), of_person(&email).len() as u64, "{email}");
            }
            "partner-term" => partner_terms
                .entry(row_of("data-email"))
                .or_default()
                .push(num(e) as i64),
            "waiting-terms" => {
                let email = row_of("data-email");
                assert_eq!(num(e) as i64, waited(&email), "{email}");
            }
            "meeting-weeks" => weeks_seen.push(num(e)),
            "meeting-minutes" => minutes_seen.push(num(e)),
            other => panic!("a number the test does not know: {other}"),
        }
        *checked.entry(metric.to_string()).or_default() += 1;
    }
    for (email, mut seen) in partner_terms {
        seen.sort();
        assert_eq!(seen, of_person(&email), "partners of {email}");
    }
    let expected_weeks: Vec<u64> = meetings.iter().map(|c| c["count"].as_u64().unwrap()).collect();
    let expected_minutes: Vec<u64> = meetings
        .iter()
        .map(|c| c["duration_minutes"].as_u64().unwrap())
        .collect();
    assert_eq!(weeks_seen, expected_weeks);
    assert_eq!(minutes_seen, expected_minutes);
    // Every kind of number was there to check, and every term, person and cell.
    assert_eq!(checked["cell"], units.len() * units.len());
    assert_eq!(checked["term-connections"], terms.len());
    assert_eq!(checked["person-connections"], cfg.people.len());
    assert!(
        checked["term-unpaired"] >= 1 && checked["waiting-terms"] >= 1,
        "{checked:?}"
    );
    assert_eq!(checked["meeting-weeks"], meetings.len());
    assert!(!meetings.is_empty());

    assert!(checked["term-number"] > terms.len(), "{checked:?}");
    assert_eq!(checked["meeting-term-number"], 1);

    // Each list of unpaired people: as many as `status` names for that term,
    // each of them.
    let mut lists = 0;
    for list in doc.select(&sel("div.unpaired-term")) {
        let start = list.value().attr("data-term").unwrap();
        let expected: Vec<&Value> = status["attention"]["unpaired"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["term"].as_str() == Some(start))
            .collect();
        let items: Vec<String> = list.select(&sel("li")).map(text_of).collect();
        assert_eq!(items.len(), expected.len(), "unpaired in {start}: {items:?}");
        for u in expected {
            let name = u["name"].as_str().unwrap();
            assert!(items.iter().any(|i| i.starts_with(name)), "{name} not in {items:?}");
        }
        lists += 1;
    }
    assert!(lists >= 1);

    // Each square's tooltip says what its number says.
    let mut tooltips = 0;
    for square in doc.select(&sel("svg.heatmap g")) {
        let cell = square.select(&sel("text[data-metric=cell]")).next().unwrap();
        let (a, b) = (
            cell.value().attr("data-row").unwrap(),
            cell.value().attr("data-col").unwrap(),
        );
        let n = matrix(a, b);
        let what = match (a == b, n) {
            (false, 0) => "never met".to_string(),
            (true, 0) => "same unit".to_string(),
            (_, 1) => "1 connection".to_string(),
            (_, n) => format!("{n} connections"),
        };
        let title = square.select(&sel("title")).next().map(text_of);
        assert_eq!(title, Some(format!("{a} × {b}: {what}")));
        tooltips += 1;
    }
    assert_eq!(tooltips, units.len() * units.len());

    // No other number anywhere: every digit of the page's text is in an
    // element checked above (a `data-metric`, a tooltip, a meeting's local
    // time, checked below) or in a name, a unit or an e-mail address, or
    // the time of writing.
    let written = {
        let at: jiff::Timestamp = last.parse().unwrap();
        at.to_zoned_datetime(cfg.timezone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut words: Vec<String> = cfg
        .people
        .iter()
        .flat_map(|p| [p.name.clone(), p.unit.clone(), p.email.clone()])
        .collect();
    // Units as the heatmap's labels cut them (22 characters).
    words.extend(units.iter().map(|u| u.chars().take(21).collect::<String>()));
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    for node in doc.root_element().descendants() {
        let Some(text) = node.value().as_text() else { continue };
        let parent = node.parent().and_then(ElementRef::wrap).unwrap();
        let checked_here = parent
            .ancestors()
            .filter_map(ElementRef::wrap)
            .chain([parent])
            .any(|a| {
                let v = a.value();
                v.attr("data-metric").is_some()
                    || ["style", "title"].contains(&v.name())
                    || v.classes().any(|c| c == "when")
            });
        if checked_here {
            continue;
        }
        let mut rest = text.to_string();
        for w in &words {
            rest = rest.replace(w.as_str(), "");
        }
        if parent.value().classes().any(|c| c == "meta") {
            rest = rest.replace(&written, "");
        }
        assert!(
            !rest.chars().any(|c| c.is_ascii_digit()),
            "an unchecked number in {:?} (in <{}>)",
            text.to_string(),
            parent.value().name()
        );
    }

    // Each meeting row shows both people's local time as `status` has it.
    let rows: Vec<String> = doc.select(&sel("table.meetings tbody tr")).map(text_of).collect();
    for (row, c) in rows.iter().zip(meetings) {
        for side in ["a", "b"] {
            let local = c[side]["local_start"].as_str().unwrap();
            // "2027-04-05T10:00:00" shows as "... 2027-04-05 10:00".
            let shown = format!("{} {}", &local[..10], &local[11..16]);
            assert!(row.contains(&shown), "{shown} not in {row}");
            assert!(row.contains(c[side]["timezone"].as_str().unwrap()), "{row}");
        }
    }
}

#[test]
fn report_without_a_state_asks_for_a_cycle_or_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = org(tmp.path());
    let run = at(&dir, crate::util::NOW, &["report"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--out"), "{}", run.stderr);
    assert!(!dir.join("state").exists());
    let out = tmp.path().join("empty.html");
    let run = at(&dir, crate::util::NOW, &["report", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = Html::parse_document(&std::fs::read_to_string(&out).unwrap());
    let zero = doc.select(&sel("[data-metric=connections]")).next().map(num);
    assert_eq!(zero, Some(0));
}

#[test]
fn completions_load_in_bash_and_every_shell_gets_a_script() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_liaison");
    // The script defines the completion function, and `complete` lists it.
    let script = format!("set -e; source <('{binary}' completions bash); complete -p liaison");
    let bash = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&bash.stdout);
    assert!(bash.status.success(), "{}", String::from_utf8_lossy(&bash.stderr));
    assert!(stdout.contains("liaison"), "{stdout}");
    for (shell, marker) in [
        ("zsh", "#compdef liaison"),
        ("fish", "complete -c liaison"),
        ("elvish", "liaison"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = crate::util::liaison(tmp.path(), &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        // Subcommands are completed.
        assert!(
            run.stdout.contains("report") && run.stdout.contains("history"),
            "{shell}"
        );
    }
    let bad = crate::util::liaison(tmp.path(), &["completions", "tcsh"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// `man` is installed by .ci/run (man-db): a missing one fails the test.
#[test]
fn the_man_page_renders_with_man() {
    let tmp = tempfile::tempdir().unwrap();
    let page = crate::util::liaison(tmp.path(), &["man"]);
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(
        page.stdout.starts_with(".ie") || page.stdout.contains(".TH liaison"),
        "{}",
        page.stdout
    );
    let mut man = std::process::Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`man` runs (install man-db; .ci/run does)");
    std::io::Write::write_all(&mut man.stdin.take().unwrap(), page.stdout.as_bytes()).unwrap();
    let man = man.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(man.status.success(), "{}", String::from_utf8_lossy(&man.stderr));
    for expected in ["NAME", "liaison", "SUBCOMMANDS", "report", "completions", "history"] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    // Rendered, not roff source.
    assert!(!text.contains(".TH"), "{text}");

    // One complete page: each subcommand is a subsection ("   liaison run",
    // indented three spaces) with its own options and their help.
    let subsection = |name: &str| -> String {
        let heading = format!("\n   liaison {name}\n");
        let start = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no subsection for {name} in:\n{text}"));
        let rest = &text[start + heading.len()..];
        let end = rest.find("\n   liaison ").unwrap_or(rest.len());
        rest[..end].to_string()
    };
    for (sub, options) in [
        ("run", &["--once", "--dry-run", "--allow-mass-cancel", "--json"][..]),
        ("report", &["--out <FILE>", "state_dir/report.html"][..]),
        ("history", &["--json", "--csv"][..]),
        ("demo", &["--people", "--units", "--files-only"][..]),
        (
            "completions",
            &["<SHELL>", "The shell to complete for", "powershell"][..],
        ),
    ] {
        let section = subsection(sub);
        for option in options {
            assert!(
                section.contains(option),
                "{option} missing from `liaison {sub}`:\n{section}"
            );
        }
    }
    // Every subcommand of `--help` has its subsection.
    let help = crate::util::liaison(tmp.path(), &["--help"]);
    let commands = help.stdout.split("Commands:").nth(1).unwrap();
    let commands = commands.split("Options:").next().unwrap();
    let names: Vec<&str> = commands
        .lines()
        .filter_map(|l| {
            l.strip_prefix("  ")
                .filter(|r| !r.starts_with(' '))?
                .split_whitespace()
                .next()
        })
        .filter(|n| *n != "help")
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        subsection(name);
    }
    // No page cited that does not exist: the only page named is this one.
    for (at, _) in text.match_indices("(1)") {
        let before: String = text[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let page: String = before.chars().rev().collect();
        assert_eq!(page, "liaison", "a page that does not exist is cited: {page}(1)");
    }
}

#[test]
fn report_out_is_a_file_or_stdout_never_a_link_or_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = org(tmp.path());
    let now = crate::util::NOW;
    let run = at(&dir, now, &["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let history = json(&at(&dir, now, &["history", "--json"]));
    assert_eq!(history["terms"].as_array().unwrap().len(), 1, "{history}");

    // `-`: the page on stdout, no file named `-`.
    let stdout = at(&dir, now, &["report", "--out", "-"]);
    assert_eq!(stdout.code, 0, "{}", stdout.stderr);
    assert!(
        stdout.stdout.starts_with("<!DOCTYPE html>"),
        "{}",
        &stdout.stdout[..80.min(stdout.stdout.len())]
    );
    let doc = Html::parse_document(&stdout.stdout);
    let shown = doc.select(&sel("[data-metric=connections]")).next().map(num);
    assert_eq!(shown, history["connections"].as_u64());
    assert!(!dir.join("-").exists() && !dir.parent().unwrap().join("-").exists());

    // One term: "1 term", not "1 terms".
    let out = tmp.path().join("r.html");
    let file = at(&dir, now, &["report", "--out", out.to_str().unwrap()]);
    assert_eq!(file.code, 0, "{}", file.stderr);
    assert!(file.stdout.contains(" in 1 term)"), "{}", file.stdout);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), stdout.stdout);

    // A symbolic link: refused (exit 2), the link and its target untouched.
    let target = tmp.path().join("theirs.html");
    std::fs::write(&target, "theirs").unwrap();
    let link = tmp.path().join("link.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let refused = at(&dir, now, &["report", "--out", link.to_str().unwrap()]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("link.html") && refused.stderr.contains("symbolic link"),
        "{}",
        refused.stderr
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");

    // A directory: says a file name is expected.
    let refused = at(&dir, now, &["report", "--out", tmp.path().to_str().unwrap()]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("is a directory") && refused.stderr.contains("a file name is expected"),
        "{}",
        refused.stderr
    );
}
