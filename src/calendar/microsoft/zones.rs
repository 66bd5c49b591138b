//! Time zone names for Graph. Graph takes Windows zone names ("W. Europe
//! Standard Time") and IANA names in `dateTimeTimeZone.timeZone`
//! (https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone),
//! and events keep the name they were created with
//! (`originalStartTimeZone`). liaison writes the Windows name when the zone
//! is the canonical IANA zone of one (CLDR windowsZones, territory "001"),
//! else the IANA name, and reads either back; so a zone written comes back
//! as the same IANA name.

/// Windows zone → its canonical IANA zone (CLDR windowsZones, territory
/// "001"). The zones of most leaders; others are written by IANA name.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time", "America/Denver"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time", "America/New_York"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("India Standard Time", "Asia/Calcutta"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
];

/// IANA aliases of a table entry that people write (tzdb links).
const ALIASES: &[(&str, &str)] = &[
    ("Asia/Kolkata", "Asia/Calcutta"),
    ("Europe/Kyiv", "Europe/Kiev"),
    ("America/Argentina/Buenos_Aires", "America/Buenos_Aires"),
    ("UTC", "Etc/UTC"),
];

/// The name to write for the IANA zone `iana`: its Windows name when it is
/// the canonical zone of one (or an alias of it), else `iana` itself.
pub(crate) fn graph_name(iana: &str) -> String {
    let canonical = ALIASES.iter().find(|(a, _)| *a == iana).map_or(iana, |(_, c)| c);
    WINDOWS_ZONES
        .iter()
        .find(|(_, z)| *z == canonical)
        .map_or_else(|| iana.to_string(), |(w, _)| w.to_string())
}

/// The IANA name a Graph zone name stands for, when liaison wrote it for
/// `written` (so an alias comes back as written), or in general.
pub(crate) fn iana_name(graph: &str, written: Option<&str>) -> Option<String> {
    if let Some(w) = written
        && graph_name(w).eq_ignore_ascii_case(graph)
    {
        return Some(w.to_string());
    }
    if let Some((_, iana)) = WINDOWS_ZONES.iter().find(|(w, _)| w.eq_ignore_ascii_case(graph)) {
        let alias = ALIASES.iter().find(|(_, c)| c == iana).map_or(*iana, |(a, _)| a);
        return Some(alias.to_string());
    }
    jiff::tz::TimeZone::get(graph).ok().map(|_| graph.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_zone_goes_to_windows_and_back_to_the_same_iana_name() {
        for (windows, iana) in WINDOWS_ZONES {
            assert!(jiff::tz::TimeZone::get(iana).is_ok(), "{iana} unknown to jiff");
            let written = ALIASES.iter().find(|(_, c)| c == iana).map_or(*iana, |(a, _)| a);
            assert_eq!(graph_name(written), *windows, "{written}");
            assert_eq!(iana_name(windows, Some(written)).as_deref(), Some(written));
            assert_eq!(
                iana_name(windows, None).as_deref(),
                Some(written),
                "read without knowing what was written"
            );
        }
    }

    #[test]
    fn other_zones_are_written_and_read_by_their_iana_name() {
        for iana in [
            "Europe/Amsterdam",
            "America/Toronto",
            "Asia/Kathmandu",
            "Australia/Darwin",
        ] {
            assert_eq!(graph_name(iana), iana);
            assert_eq!(iana_name(iana, Some(iana)).as_deref(), Some(iana));
        }
        assert_eq!(graph_name("Asia/Kolkata"), "India Standard Time");
        assert_eq!(
            iana_name("India Standard Time", Some("Asia/Kolkata")).as_deref(),
            Some("Asia/Kolkata")
        );
        assert_eq!(
            iana_name("Pacific Standard Time", None).as_deref(),
            Some("America/Los_Angeles")
        );
        assert_eq!(iana_name("tzone://Microsoft/Custom", None), None);
    }
}
