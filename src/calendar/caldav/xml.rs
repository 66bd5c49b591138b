//! The WebDAV and CalDAV XML liaison sends and reads: the request bodies
//! (PROPFIND, `free-busy-query`, `calendar-query` with expansion,
//! `calendar-multiget`, `sync-collection`), and the answers — a `multistatus`
//! (RFC 4918 §14.16), read into plain owned data, an `error` body's
//! preconditions (`DAV:valid-sync-token`, `C:no-uid-conflict`), and an RFC
//! 6638 `schedule-response`.
//!
//! Bodies are written as text (a handful of fixed shapes, every variable part
//! escaped); answers are read with roxmltree, which resolves namespaces, so
//! any prefix a server picks (`D:`, `ns0:`, none) reads the same.

use jiff::Timestamp;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";

/// One property asked for, by namespace and local name.
pub type Name = (&'static str, &'static str);

pub const CURRENT_USER_PRINCIPAL: Name = (DAV, "current-user-principal");
pub const RESOURCETYPE: Name = (DAV, "resourcetype");
pub const GETETAG: Name = (DAV, "getetag");
pub const SYNC_TOKEN: Name = (DAV, "sync-token");
pub const CALENDAR_HOME_SET: Name = (CALDAV, "calendar-home-set");
pub const SCHEDULE_OUTBOX_URL: Name = (CALDAV, "schedule-outbox-URL");
pub const SUPPORTED_COMPONENTS: Name = (CALDAV, "supported-calendar-component-set");
pub const CALENDAR_DATA: Name = (CALDAV, "calendar-data");

/// `text` escaped for XML character data and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn prefix(ns: &str) -> &'static str {
    if ns == CALDAV { "c" } else { "d" }
}

fn prop_list(props: &[Name]) -> String {
    props
        .iter()
        .map(|(ns, name)| format!("<{}:{name}/>", prefix(ns)))
        .collect()
}

const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;
const NAMESPACES: &str = r#"xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav""#;

/// A PROPFIND body asking for `props`.
pub fn propfind(props: &[Name]) -> String {
    format!(
        "{HEAD}<d:propfind {NAMESPACES}><d:prop>{}</d:prop></d:propfind>",
        prop_list(props)
    )
}

/// An instant as CalDAV writes a UTC date-time (`20270308T090000Z`).
pub fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 4791 §7.10: the busy time of one calendar collection in `[start, end)`.
pub fn free_busy_query(start: Timestamp, end: Timestamp) -> String {
    format!(
        "{HEAD}<c:free-busy-query {NAMESPACES}><c:time-range start=\"{}\" end=\"{}\"/></c:free-busy-query>",
        utc(start),
        utc(end)
    )
}

/// RFC 4791 §7.8: the events overlapping `[start, end)`, recurrences expanded
/// by the server into the instances inside it.
pub fn calendar_query_expanded(start: Timestamp, end: Timestamp) -> String {
    let (s, e) = (utc(start), utc(end));
    format!(
        "{HEAD}<c:calendar-query {NAMESPACES}><d:prop><d:getetag/><c:calendar-data>\
         <c:expand start=\"{s}\" end=\"{e}\"/></c:calendar-data></d:prop><c:filter>\
         <c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\">\
         <c:time-range start=\"{s}\" end=\"{e}\"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
    )
}

/// RFC 4791 §7.8: every event of a collection, with its data.
pub fn calendar_query_all() -> String {
    format!(
        "{HEAD}<c:calendar-query {NAMESPACES}><d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter>\
         <c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\"/></c:comp-filter></c:filter></c:calendar-query>"
    )
}

/// RFC 4791 §7.8 and §9.7.5: the event whose UID is `uid`, wherever it is
/// named in the collection (a server that refuses a UID used under another
/// name answers a PUT with `C:no-uid-conflict`, often without the href).
pub fn calendar_query_uid(uid: &str) -> String {
    format!(
        "{HEAD}<c:calendar-query {NAMESPACES}><d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter>\
         <c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\"><c:prop-filter name=\"UID\">\
         <c:text-match collation=\"i;octet\">{}</c:text-match></c:prop-filter></c:comp-filter></c:comp-filter>\
         </c:filter></c:calendar-query>",
        escape(uid)
    )
}

/// RFC 4791 §7.9: the ETag and data of each resource in `hrefs` (paths).
pub fn calendar_multiget(hrefs: &[String]) -> String {
    let hrefs: String = hrefs
        .iter()
        .map(|h| format!("<d:href>{}</d:href>", escape(h)))
        .collect();
    format!(
        "{HEAD}<c:calendar-multiget {NAMESPACES}><d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"
    )
}

/// RFC 6578 §3.2: what changed in a collection since `token` (everything
/// for an empty token), with each member's ETag.
pub fn sync_collection(token: &str) -> String {
    format!(
        "{HEAD}<d:sync-collection {NAMESPACES}><d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level>\
         <d:prop><d:getetag/></d:prop></d:sync-collection>",
        escape(token)
    )
}

/// A property as a 2xx propstat reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PropValue {
    /// The text of the element and its descendants (calendar data, an ETag).
    pub text: String,
    /// The `DAV:href` children, in order (principal, home set, address set).
    pub hrefs: Vec<String>,
    /// The child elements, by namespace and name (a resource type).
    pub children: Vec<(String, String)>,
    /// The `name` attributes of `C:comp` children (supported components).
    pub comps: Vec<String>,
}

/// One `response` of a multistatus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// As the server wrote it (a path, usually; percent-encoded).
    pub href: String,
    /// The response's own status (RFC 6578: 404 for a removed member).
    pub status: Option<u16>,
    /// Properties found (2xx propstat), by namespace and name.
    pub found: Vec<((String, String), PropValue)>,
}

impl Response {
    pub fn prop(&self, name: Name) -> Option<&PropValue> {
        self.found
            .iter()
            .find(|((ns, local), _)| ns == name.0 && local == name.1)
            .map(|(_, v)| v)
    }

    /// True when the resource type lists `C:calendar`.
    pub fn is_calendar(&self) -> bool {
        self.prop(RESOURCETYPE)
            .is_some_and(|t| t.children.iter().any(|(ns, n)| ns == CALDAV && n == "calendar"))
    }
}

/// A multistatus answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Multistatus {
    pub responses: Vec<Response>,
    /// RFC 6578: the token of the state this answer describes.
    pub sync_token: Option<String>,
}

/// The status code of an HTTP status line (`HTTP/1.1 404 Not Found`).
fn status_code(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}

fn is(node: &roxmltree::Node, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

fn child<'a, 'i>(node: &roxmltree::Node<'a, 'i>, ns: &str, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| is(c, ns, name))
}

fn all_text(node: &roxmltree::Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// Reads a multistatus body. `Err` says what is wrong with it.
pub fn parse_multistatus(body: &str) -> Result<Multistatus, String> {
    let doc = roxmltree::Document::parse(body).map_err(|e| format!("the answer is not XML: {e}"))?;
    let root = doc.root_element();
    if !is(&root, DAV, "multistatus") {
        return Err(format!(
            "the answer is <{}>, not a DAV:multistatus",
            root.tag_name().name()
        ));
    }
    let mut out = Multistatus {
        sync_token: child(&root, DAV, "sync-token").map(|t| all_text(&t).trim().to_string()),
        ..Multistatus::default()
    };
    for response in root.children().filter(|c| is(c, DAV, "response")) {
        let href = child(&response, DAV, "href")
            .map(|h| all_text(&h).trim().to_string())
            .ok_or("a response without DAV:href")?;
        let status = child(&response, DAV, "status").and_then(|s| status_code(&all_text(&s)));
        let mut found = Vec::new();
        for propstat in response.children().filter(|c| is(c, DAV, "propstat")) {
            let ok = child(&propstat, DAV, "status")
                .and_then(|s| status_code(&all_text(&s)))
                .is_some_and(|code| (200..300).contains(&code));
            let Some(prop) = child(&propstat, DAV, "prop") else {
                continue;
            };
            if !ok {
                continue;
            }
            for p in prop.children().filter(roxmltree::Node::is_element) {
                let name = (
                    p.tag_name().namespace().unwrap_or("").to_string(),
                    p.tag_name().name().to_string(),
                );
                let value = PropValue {
                    text: all_text(&p),
                    hrefs: p
                        .descendants()
                        .filter(|n| is(n, DAV, "href"))
                        .map(|n| all_text(&n).trim().to_string())
                        .collect(),
                    children: p
                        .children()
                        .filter(roxmltree::Node::is_element)
                        .map(|c| {
                            (
                                c.tag_name().namespace().unwrap_or("").to_string(),
                                c.tag_name().name().to_string(),
                            )
                        })
                        .collect(),
                    comps: p
                        .children()
                        .filter(|c| is(c, CALDAV, "comp"))
                        .filter_map(|c| c.attribute("name").map(str::to_string))
                        .collect(),
                };
                found.push((name, value));
            }
        }
        out.responses.push(Response { href, status, found });
    }
    Ok(out)
}

/// The preconditions an `error` body names (`DAV:valid-sync-token`,
/// `C:no-uid-conflict`, ...), as `(namespace, name)`; empty for any other body.
pub fn preconditions(body: &str) -> Vec<(String, String)> {
    let Ok(doc) = roxmltree::Document::parse(body) else {
        return Vec::new();
    };
    let root = doc.root_element();
    if !is(&root, DAV, "error") {
        return Vec::new();
    }
    root.children()
        .filter(roxmltree::Node::is_element)
        .map(|c| {
            (
                c.tag_name().namespace().unwrap_or("").to_string(),
                c.tag_name().name().to_string(),
            )
        })
        .collect()
}

/// Whether an error body names the precondition `name`.
pub fn names_precondition(body: &str, name: Name) -> bool {
    preconditions(body)
        .iter()
        .any(|(ns, local)| ns == name.0 && local == name.1)
}

/// One recipient of an RFC 6638 `schedule-response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleAnswer {
    /// The recipient's address as the server wrote it (`mailto:...`).
    pub recipient: String,
    /// The iTIP request status (`2.0;Success`, `3.7;Invalid calendar user`).
    pub request_status: String,
    /// The VFREEBUSY reply, for a success.
    pub calendar_data: Option<String>,
}

/// Reads an RFC 6638 §6.1.4 `schedule-response`.
pub fn parse_schedule_response(body: &str) -> Result<Vec<ScheduleAnswer>, String> {
    let doc = roxmltree::Document::parse(body).map_err(|e| format!("the answer is not XML: {e}"))?;
    let root = doc.root_element();
    if !is(&root, CALDAV, "schedule-response") {
        return Err(format!(
            "the answer is <{}>, not a C:schedule-response",
            root.tag_name().name()
        ));
    }
    let mut out = Vec::new();
    for response in root.children().filter(|c| is(c, CALDAV, "response")) {
        let recipient = child(&response, CALDAV, "recipient")
            .map(|r| all_text(&r).trim().to_string())
            .ok_or("a response without C:recipient")?;
        out.push(ScheduleAnswer {
            recipient,
            request_status: child(&response, CALDAV, "request-status")
                .map(|s| all_text(&s).trim().to_string())
                .unwrap_or_default(),
            calendar_data: child(&response, CALDAV, "calendar-data").map(|d| all_text(&d)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multistatus_reads_the_same_whatever_prefixes_the_server_picks() {
        // Radicale's default namespace and Xandikos' ns0/ns1 prefixes.
        let radicale = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/liaison/</href><propstat><prop><current-user-principal><href>/liaison/</href></current-user-principal><C:calendar-home-set><href>/liaison/</href></C:calendar-home-set><resourcetype><collection /><C:calendar /></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><C:schedule-outbox-URL /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>"#;
        let xandikos = r#"<ns0:multistatus xmlns:ns0="DAV:" xmlns:ns1="urn:ietf:params:xml:ns:caldav"><ns0:response><ns0:href>/liaison/</ns0:href><ns0:propstat><ns0:status>HTTP/1.1 200 OK</ns0:status><ns0:prop><ns0:current-user-principal><ns0:href>/liaison/</ns0:href></ns0:current-user-principal><ns1:calendar-home-set><ns0:href>/liaison/</ns0:href></ns1:calendar-home-set><ns0:resourcetype><ns0:collection /><ns1:calendar /></ns0:resourcetype></ns0:prop></ns0:propstat><ns0:propstat><ns0:status>HTTP/1.1 404 Not Found</ns0:status><ns0:prop><ns1:schedule-outbox-URL /></ns0:prop></ns0:propstat></ns0:response></ns0:multistatus>"#;
        for body in [radicale, xandikos] {
            let ms = parse_multistatus(body).unwrap();
            assert_eq!(ms.responses.len(), 1);
            let r = &ms.responses[0];
            assert_eq!(r.href, "/liaison/");
            assert_eq!(r.prop(CURRENT_USER_PRINCIPAL).unwrap().hrefs, ["/liaison/"]);
            assert_eq!(r.prop(CALENDAR_HOME_SET).unwrap().hrefs, ["/liaison/"]);
            assert!(r.is_calendar());
            assert_eq!(r.prop(SCHEDULE_OUTBOX_URL), None, "a 404 propstat is not found");
        }
    }

    #[test]
    fn a_sync_answer_has_its_token_changed_members_and_removed_ones() {
        let body = r#"<multistatus xmlns="DAV:"><sync-token>http://radicale.org/ns/sync/a7</sync-token><response><href>/l/c/a.ics</href><propstat><prop><getetag>"e1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/l/c/b.ics</href><status>HTTP/1.1 404 Not Found</status></response></multistatus>"#;
        let ms = parse_multistatus(body).unwrap();
        assert_eq!(ms.sync_token.as_deref(), Some("http://radicale.org/ns/sync/a7"));
        assert_eq!(ms.responses[0].prop(GETETAG).unwrap().text, "\"e1\"");
        assert_eq!(ms.responses[1].status, Some(404));
    }

    #[test]
    fn error_bodies_name_their_preconditions() {
        let radicale = r#"<?xml version='1.0' encoding='utf-8'?><error xmlns="DAV:"><valid-sync-token /></error>"#;
        let xandikos = r#"<ns0:error xmlns:ns0="DAV:"><ns0:valid-sync-token /><ns0:responsedescription>Requested sync token x is invalid</ns0:responsedescription></ns0:error>"#;
        for body in [radicale, xandikos] {
            assert!(names_precondition(body, (DAV, "valid-sync-token")), "{body}");
        }
        let uid = r#"<error xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict /></error>"#;
        assert!(names_precondition(uid, (CALDAV, "no-uid-conflict")));
        assert!(!names_precondition("not xml", (DAV, "valid-sync-token")));
        assert!(
            parse_multistatus("<html/>")
                .unwrap_err()
                .contains("not a DAV:multistatus")
        );
    }

    #[test]
    fn bodies_escape_what_they_carry() {
        assert_eq!(escape(r#"a<b&"c'>"#), "a&lt;b&amp;&quot;c&apos;&gt;");
        let body = sync_collection("http://x/?a=1&b=<2>");
        assert!(
            body.contains("<d:sync-token>http://x/?a=1&amp;b=&lt;2&gt;</d:sync-token>"),
            "{body}"
        );
        roxmltree::Document::parse(&body).unwrap();
        let start: Timestamp = "2027-03-08T09:00:00Z".parse().unwrap();
        let end: Timestamp = "2027-04-05T00:00:00Z".parse().unwrap();
        for body in [
            free_busy_query(start, end),
            calendar_query_expanded(start, end),
            calendar_multiget(&["/a/b&c.ics".into()]),
            calendar_query_all(),
            propfind(&[CURRENT_USER_PRINCIPAL, CALENDAR_HOME_SET]),
        ] {
            roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        }
        assert!(free_busy_query(start, end).contains(r#"start="20270308T090000Z" end="20270405T000000Z""#));
    }

    #[test]
    fn a_schedule_response_gives_each_recipient_its_status_and_data() {
        let body = r#"<ns0:schedule-response xmlns:ns0="urn:ietf:params:xml:ns:caldav" xmlns:ns1="DAV:"><ns0:response><ns0:recipient><ns1:href>mailto:ana@example.com</ns1:href></ns0:recipient><ns0:request-status>2.0;Success</ns0:request-status><ns0:calendar-data>BEGIN:VCALENDAR
END:VCALENDAR
</ns0:calendar-data></ns0:response><ns0:response><ns0:recipient><ns1:href>mailto:ben@example.com</ns1:href></ns0:recipient><ns0:request-status>3.7;Invalid calendar user</ns0:request-status></ns0:response></ns0:schedule-response>"#;
        let answers = parse_schedule_response(body).unwrap();
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0].recipient, "mailto:ana@example.com");
        assert_eq!(answers[0].request_status, "2.0;Success");
        assert!(
            answers[0]
                .calendar_data
                .as_deref()
                .unwrap()
                .starts_with("BEGIN:VCALENDAR")
        );
        assert_eq!(answers[1].calendar_data, None);
    }
}
