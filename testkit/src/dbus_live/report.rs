//! What one live run of one case found: a grade, the reasons, and every
//! byte exchanged (the evidence a FAILED or a NOTE is reported with).

use std::fmt;

/// A case's grade against one implementation (docs/VECTORS.md, "Live runs").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    /// Every expectation met, choices included.
    Passed,
    /// Only choices differ (the case's `live` rules allow what was seen).
    Note,
    /// A required expectation not met, or no answer within the timeout.
    Failed,
    /// The case has no live meaning (the reason is in `findings`).
    NotApplicable,
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grade::Passed => "PASSED",
            Grade::Note => "NOTE",
            Grade::Failed => "FAILED",
            Grade::NotApplicable => "N/A",
        })
    }
}

/// Who wrote bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The D-Bus client (`C:`).
    Client,
    /// The D-Bus server (`S:`).
    Server,
}

/// The grade of one case, why, and the bytes exchanged.
#[derive(Clone, Debug)]
pub struct CaseReport {
    /// The case's tcId.
    pub tc_id: u32,
    /// The case's name.
    pub name: String,
    /// Its grade.
    pub grade: Grade,
    /// Why (one entry per NOTE or FAILED finding, or the N/A reason).
    pub findings: Vec<String>,
    /// Every write, in order, by side.
    pub transcript: Vec<(Side, Vec<u8>)>,
}

impl CaseReport {
    pub(super) fn new(tc_id: u32, name: &str) -> Self {
        CaseReport {
            tc_id,
            name: name.to_owned(),
            grade: Grade::Passed,
            findings: Vec::new(),
            transcript: Vec::new(),
        }
    }

    pub(super) fn not_applicable(mut self, why: &str) -> Self {
        self.grade = Grade::NotApplicable;
        self.findings = vec![why.to_owned()];
        self
    }

    /// A deviation from a choice.
    pub(super) fn note(&mut self, what: String) {
        self.grade = self.grade.max(Grade::Note);
        self.push(format!("NOTE: {what}"));
    }

    /// Adds a finding once (a server repeating one choice on every line).
    fn push(&mut self, finding: String) {
        if !self.findings.contains(&finding) {
            self.findings.push(finding);
        }
    }

    /// A deviation from a requirement (or a timeout).
    pub(super) fn fail(&mut self, what: String) {
        self.grade = Grade::Failed;
        self.push(format!("FAILED: {what}"));
    }

    /// `required` picks [`Self::fail`] or [`Self::note`].
    pub(super) fn deviate(&mut self, required: bool, what: String) {
        if required {
            self.fail(what)
        } else {
            self.note(what)
        }
    }

    pub(super) fn wrote(&mut self, side: Side, bytes: &[u8]) {
        match self.transcript.last_mut() {
            Some((s, b)) if *s == side => b.extend_from_slice(bytes),
            _ => self.transcript.push((side, bytes.to_vec())),
        }
    }

    /// The exchange as `C: "..."` / `S: "..."` lines, bytes escaped, long
    /// runs shortened.
    pub fn bytes(&self) -> String {
        self.transcript
            .iter()
            .map(|(side, b)| {
                let who = if *side == Side::Client { "C" } else { "S" };
                format!("{who}: \"{}\"", escaped(b))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for CaseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.tc_id, self.name, self.grade)?;
        for x in &self.findings {
            write!(f, "; {x}")?;
        }
        if matches!(self.grade, Grade::Note | Grade::Failed) {
            write!(f, "; bytes: {}", self.bytes())?;
        }
        Ok(())
    }
}

/// `bytes` with non-printable ones escaped; a run of more than 64 equal
/// bytes is shown as one and a count.
pub fn escaped(bytes: &[u8]) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| **b == bytes[i]).count();
        let one = bytes[i..=i].escape_ascii().to_string();
        if run > 64 {
            s.push_str(&format!("{one}<x{run}>"));
            i += run;
        } else {
            s.push_str(&one);
            i += 1;
        }
    }
    s
}

/// How many cases of each grade.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// PASSED.
    pub passed: usize,
    /// NOTE.
    pub note: usize,
    /// FAILED.
    pub failed: usize,
    /// N/A.
    pub not_applicable: usize,
}

impl Counts {
    /// Counts `reports` by grade.
    pub fn of(reports: &[CaseReport]) -> Counts {
        let mut c = Counts::default();
        for r in reports {
            match r.grade {
                Grade::Passed => c.passed += 1,
                Grade::Note => c.note += 1,
                Grade::Failed => c.failed += 1,
                Grade::NotApplicable => c.not_applicable += 1,
            }
        }
        c
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} PASSED, {} NOTE, {} FAILED, {} N/A",
            self.passed, self.note, self.failed, self.not_applicable
        )
    }
}
