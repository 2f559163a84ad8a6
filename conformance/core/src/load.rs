//! Reading vector files, with errors that name the file, the case and the
//! field, so that a hand-edited vector is fixed in one look. Never panics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::{
    Event, Expected, FrameKind, Outcome, Role, SCHEMA, SCHEMA_VERSION, TestCase, TestGroup,
    VectorFile,
};

/// A vector file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub file: PathBuf,
    /// `tcId N (name)` of the case, if the problem is inside one.
    pub case: Option<String>,
    /// The JSON path of the offending field, e.g. `testGroups[0].tests[3].events[1].bytes`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(case) = &self.case {
            write!(f, ": case {case}")?;
        }
        write!(f, ": field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for LoadError {}

/// One loaded file.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Where it came from.
    pub path: PathBuf,
    /// Its content.
    pub file: VectorFile,
}

/// Loads every `*.json` under `dir` (recursively, skipping `schema/`), in
/// path order, and checks ids are unique across all of them.
pub fn load_dir(dir: &Path) -> Result<Vec<Loaded>, LoadError> {
    let mut paths = Vec::new();
    collect(dir, &mut paths).map_err(|e| LoadError {
        file: dir.to_path_buf(),
        case: None,
        field: String::new(),
        message: format!("cannot list the directory: {e}"),
    })?;
    paths.sort();
    let mut out = Vec::new();
    let mut ids: BTreeMap<u32, PathBuf> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for path in paths {
        let loaded = load_file(&path)?;
        for (g, group) in loaded.file.test_groups.iter().enumerate() {
            for (t, case) in group.tests.iter().enumerate() {
                let err = |field: &str, message: String| LoadError {
                    file: path.clone(),
                    case: Some(case_label(case)),
                    field: format!("testGroups[{g}].tests[{t}].{field}"),
                    message,
                };
                if let Some(other) = ids.insert(case.tc_id, path.clone()) {
                    return Err(err(
                        "tcId",
                        format!("tcId already used in {}", other.display()),
                    ));
                }
                if !names.insert(case.name.clone()) {
                    return Err(err("name", "name already used by another case".into()));
                }
            }
        }
        out.push(loaded);
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "schema") {
                collect(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads and checks one file.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        file: path.to_path_buf(),
        case: None,
        field: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    let file = parse(path, &text)?;
    Ok(Loaded {
        path: path.to_path_buf(),
        file,
    })
}

/// Parses and checks the text of one file; `path` only names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<VectorFile, LoadError> {
    let err = |case: Option<String>, field: String, message: String| LoadError {
        file: path.to_path_buf(),
        case,
        field,
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        err(
            None,
            String::new(),
            format!("not JSON (line {}, column {}): {e}", e.line(), e.column()),
        )
    })?;
    let file: VectorFile = serde_path_to_error::deserialize(&value).map_err(|e| {
        let field = e.path().to_string();
        err(case_at(&value, &field), field, e.inner().to_string())
    })?;
    if file.schema != SCHEMA {
        return Err(err(
            None,
            "schema".into(),
            format!("expected {SCHEMA:?}, found {:?}", file.schema),
        ));
    }
    if file.schema_version != SCHEMA_VERSION {
        return Err(err(
            None,
            "schemaVersion".into(),
            format!(
                "this reader knows version {SCHEMA_VERSION:?}, found {:?}",
                file.schema_version
            ),
        ));
    }
    let count: usize = file.test_groups.iter().map(|g| g.tests.len()).sum();
    if count != file.number_of_tests {
        return Err(err(
            None,
            "numberOfTests".into(),
            format!("says {} but the groups hold {count}", file.number_of_tests),
        ));
    }
    for (g, group) in file.test_groups.iter().enumerate() {
        for (t, case) in group.tests.iter().enumerate() {
            check_case(&file, group, case).map_err(|(field, message)| {
                err(
                    Some(case_label(case)),
                    format!("testGroups[{g}].tests[{t}].{field}"),
                    message,
                )
            })?;
        }
    }
    Ok(file)
}

/// `tcId N (name)`.
pub fn case_label(case: &TestCase) -> String {
    format!("tcId {} ({})", case.tc_id, case.name)
}

/// The case a serde error path points into, read from the raw JSON.
fn case_at(value: &Value, path: &str) -> Option<String> {
    let rest = path.strip_prefix("testGroups[")?;
    let (g, rest) = rest.split_once(']')?;
    let rest = rest.strip_prefix(".tests[")?;
    let (t, _) = rest.split_once(']')?;
    let case = value
        .get("testGroups")?
        .get(g.parse::<usize>().ok()?)?
        .get("tests")?
        .get(t.parse::<usize>().ok()?)?;
    let id = case.get("tcId").map_or("?".into(), Value::to_string);
    let name = case.get("name").and_then(Value::as_str).unwrap_or("?");
    Some(format!("tcId {id} ({name})"))
}

type Problem = (String, String);

/// The checks serde cannot make: codes, fd ids, flags, what each role allows.
fn check_case(file: &VectorFile, group: &TestGroup, case: &TestCase) -> Result<(), Problem> {
    for (i, flag) in case.flags.iter().enumerate() {
        if !file.notes.contains_key(flag) {
            return Err((format!("flags[{i}]"), format!("flag {flag:?} has no note")));
        }
    }
    let mut fds = BTreeSet::new();
    if let Some(p) = group
        .config
        .peer_socket
        .as_ref()
        .and_then(|p| p.pidfd.clone())
    {
        fds.insert(p);
    }
    for (i, event) in case.events.iter().enumerate() {
        let field = |f: &str| format!("events[{i}].{f}");
        let allowed = match (group.role, event) {
            (_, Event::Misuse { .. }) => true,
            (Role::ClientHandshake | Role::ServerHandshake, Event::Push(_) | Event::Flush) => false,
            (Role::ClientHandshake | Role::ServerHandshake, _) => true,
            (Role::DbusClient | Role::DbusServer, Event::In(_) | Event::Eof | Event::Out(_)) => {
                true
            }
            (Role::FrameDecoder, Event::In(_) | Event::Eof) => true,
            (Role::FrameEncoder, Event::Push(_) | Event::Flush | Event::Out(_)) => true,
            _ => false,
        };
        if !allowed
            || (group.role != Role::ServerHandshake && matches!(event, Event::Decide { .. }))
        {
            return Err((
                field("type"),
                format!("not an event of a {}", group.role.name()),
            ));
        }
        let (new, code) = match event {
            Event::In(input) => {
                let mut v = input.fds.clone();
                v.extend(input.pidfd.clone());
                (v, None)
            }
            Event::Push(p) => {
                if (p.kind == FrameKind::Shm) != p.shm.is_some() {
                    return Err((field("shm"), "present exactly for kind shm".into()));
                }
                (p.fds.clone(), p.error.as_ref())
            }
            Event::Misuse { error, .. } => (Vec::new(), error.as_ref()),
            _ => (Vec::new(), None),
        };
        for fd in new {
            if !fds.insert(fd.clone()) {
                return Err((field("fds"), format!("fd id {fd:?} used twice")));
            }
        }
        if let Some(code) = code {
            if !known_code(group.role, code) {
                return Err((field("error"), format!("unknown error code {code:?}")));
            }
        }
    }
    check_config(group).map_err(|(f, m)| (format!("config.{f}"), m))?;
    check_expected(group.role, &case.expected).map_err(|(f, m)| (format!("expected.{f}"), m))
}

/// Whether `code` is an error code a case of `role` may name: the core's
/// codes (PROTOCOL.md section 5), or for the D-Bus roles the `dbus_` codes
/// (section 9) and the core's usage codes.
pub fn known_code(role: Role, code: &str) -> bool {
    if role.is_dbus() {
        mon_ipc::dbus::DbusError::from_code(code).is_some()
            || matches!(
                mon_ipc::Error::from_code(code),
                Some(mon_ipc::Error::Usage(_))
            )
    } else {
        mon_ipc::Error::from_code(code).is_some()
    }
}

/// Each role's configuration has what it needs and nothing of another role's.
fn check_config(group: &TestGroup) -> Result<(), Problem> {
    let c = &group.config;
    let role = group.role;
    if role.is_dbus() == c.limits.is_some() {
        return Err((
            "limits".into(),
            format!(
                "{} for a {}",
                if role.is_dbus() {
                    "not allowed"
                } else {
                    "required"
                },
                role.name()
            ),
        ));
    }
    if (role == Role::DbusClient) != c.dbus_client.is_some() {
        return Err((
            "dbusClient".into(),
            format!("present exactly for a dbus_client, not a {}", role.name()),
        ));
    }
    if (role == Role::DbusServer) != c.dbus_server.is_some() {
        return Err((
            "dbusServer".into(),
            format!("present exactly for a dbus_server, not a {}", role.name()),
        ));
    }
    if let Some(s) = &c.dbus_server {
        if s.guid.0.len() != 16 {
            return Err((
                "dbusServer.guid".into(),
                format!("a guid is 16 bytes, found {}", s.guid.0.len()),
            ));
        }
    }
    if let Some(cl) = &c.dbus_client {
        if cl.mechanism == crate::model::DbusMechanism::Anonymous && cl.uid.is_some() {
            return Err((
                "dbusClient.uid".into(),
                "an anonymous client claims no uid".into(),
            ));
        }
    }
    Ok(())
}

fn check_expected(role: Role, e: &Expected) -> Result<(), Problem> {
    let ok_outcomes: &[Outcome] = match role {
        Role::ClientHandshake | Role::ServerHandshake => &[Outcome::Authenticated, Outcome::Failed],
        Role::FrameDecoder => &[Outcome::Open, Outcome::Closed, Outcome::Failed],
        Role::FrameEncoder => &[Outcome::Ok, Outcome::Failed],
        Role::DbusClient | Role::DbusServer => &[Outcome::Authenticated, Outcome::Failed],
    };
    if !ok_outcomes.contains(&e.outcome) {
        return Err((
            "outcome".into(),
            format!("not an outcome of a {}", role.name()),
        ));
    }
    match (&e.outcome, &e.error) {
        (Outcome::Failed, None) => {
            return Err(("error".into(), "a failed case names its error".into()));
        }
        (Outcome::Failed, Some(code)) if !known_code(role, code) => {
            return Err(("error".into(), format!("unknown error code {code:?}")));
        }
        (Outcome::Failed, Some(_)) => {}
        (_, Some(_)) => return Err(("error".into(), "only a failed case names an error".into())),
        (_, None) => {}
    }
    if role.is_dbus() {
        if e.version.is_some() || e.limits.is_some() || e.frames.is_some() {
            return Err((
                "version".into(),
                "a D-Bus case gives no version, limits or frames".into(),
            ));
        }
        if e.outcome == Outcome::Authenticated && (e.dbus.is_none() || e.leftover.is_none()) {
            return Err((
                "dbus".into(),
                "an authenticated D-Bus case gives dbus and leftover".into(),
            ));
        }
    } else if e.dbus.is_some() {
        return Err(("dbus".into(), "only a D-Bus case gives dbus".into()));
    }
    if e.outcome == Outcome::Authenticated
        && !role.is_dbus()
        && (e.limits.is_none() || e.version.is_none() || e.leftover.is_none())
    {
        return Err((
            "limits".into(),
            "an authenticated case gives version, limits and leftover".into(),
        ));
    }
    if role == Role::FrameDecoder && e.frames.is_none() {
        return Err(("frames".into(), "a decoder case lists its frames".into()));
    }
    Ok(())
}
