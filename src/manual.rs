//! `liaison man`: one complete manual page, liaison(1), with every
//! subcommand's synopsis, description and options in its own subsection.
//! clap_mangen renders one page per command and makes the main page point to
//! `liaison-run(1)` and the like; a single page needs no installing of a
//! dozen files and cannot point to a page that is missing. So the page is
//! assembled here from clap_mangen's section renderers: the main command's
//! sections, then each subcommand's with its section headings turned into
//! paragraphs of its subsection.

use std::io::Write as _;

use clap_mangen::Man;

/// The page (roff) of `cmd` and all its subcommands.
pub fn render(cmd: clap::Command) -> std::io::Result<String> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let top = Man::new(cmd.clone());
    let mut out = Vec::new();
    top.render_title(&mut out)?;
    top.render_name_section(&mut out)?;
    top.render_synopsis_section(&mut out)?;
    top.render_description_section(&mut out)?;
    top.render_options_section(&mut out)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        writeln!(out, ".SH SUBCOMMANDS")?;
        writeln!(
            out,
            "Each takes the options above as well (they are listed once, there)."
        )?;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            subcommand(&mut out, sub)?;
        }
    }
    if cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some() {
        top.render_extra_section(&mut out)?;
    }
    if cmd.get_version().is_some() {
        top.render_version_section(&mut out)?;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// One subcommand's subsection: its synopsis, description and own options
/// (the global ones hidden: the main section lists them).
fn subcommand(out: &mut Vec<u8>, sub: &clap::Command) -> std::io::Result<()> {
    let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name()).to_string();
    let sub = sub
        .clone()
        .bin_name(&name)
        .mut_args(|a| if a.is_global_set() { a.hide(true) } else { a });
    let has_options = sub.get_arguments().any(|a| !a.is_hide_set());
    let man = Man::new(sub);
    let mut part = Vec::new();
    man.render_synopsis_section(&mut part)?;
    man.render_description_section(&mut part)?;
    if has_options {
        man.render_options_section(&mut part)?;
    }
    // Names are the command's own (ASCII words), nothing to escape in roff.
    writeln!(out, ".SS \"{name}\"")?;
    for line in String::from_utf8_lossy(&part).lines() {
        match line.strip_prefix(".SH ") {
            Some("SYNOPSIS") => {}
            Some("DESCRIPTION") => writeln!(out, ".PP")?,
            Some(heading) => {
                let heading = heading.trim_matches('"');
                let mut title = heading.to_lowercase();
                if let Some(first) = title.get(..1) {
                    title = format!("{}{}", first.to_uppercase(), &title[1..]);
                }
                writeln!(out, ".PP\n\\fI{title}:\\fR")?
            }
            None => writeln!(out, "{line}")?,
        }
    }
    Ok(())
}
