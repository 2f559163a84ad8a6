//! The replay must fail a case whose expectations the core does not meet:
//! each check of the shared loop (`replay/script.rs`) and of each profile,
//! shown failing on a passing case with one expectation changed.

use mon_ipc_conformance_core::generate::all_files;
use mon_ipc_conformance_core::model::{Event, Outcome, Role, TestCase, TestGroup};
use mon_ipc_conformance_core::replay::run_case;

/// The first case of `role` that passes, is accepted, and has output and
/// leftover expectations, with its group.
fn accepted_case(role: Role) -> (TestGroup, TestCase) {
    for (_, file) in all_files() {
        for group in file.test_groups {
            if group.role != role {
                continue;
            }
            for case in &group.tests {
                let out = case.events.iter().any(|e| matches!(e, Event::Out(_)));
                if out
                    && case.expected.outcome != Outcome::Failed
                    && case.expected.leftover.is_some()
                {
                    assert_eq!(run_case(&group, case).result, Ok(()), "{}", case.name);
                    let case = case.clone();
                    return (group, case);
                }
            }
        }
    }
    panic!("no accepted {role:?} case with output")
}

fn failure(group: &TestGroup, case: &TestCase) -> String {
    run_case(group, case)
        .result
        .expect_err("the replay must refuse it")
}

#[test]
fn every_profile_refuses_changed_output_outcome_and_leftover() {
    for role in [
        Role::ClientHandshake,
        Role::ServerHandshake,
        Role::DbusClient,
        Role::DbusServer,
    ] {
        let (group, case) = accepted_case(role);

        let mut c = case.clone();
        let out = c.events.iter_mut().find_map(|e| match e {
            Event::Out(o) if !o.bytes.0.is_empty() => Some(o),
            _ => None,
        });
        out.expect("an out event").bytes.0[0] ^= 0x20;
        assert!(failure(&group, &c).contains("output"), "{role:?}");

        let mut c = case.clone();
        c.expected.outcome = Outcome::Failed;
        c.expected.error = Some("denied".into());
        assert!(
            failure(&group, &c).contains("got authenticated"),
            "{role:?}"
        );

        let mut c = case.clone();
        c.expected.leftover.as_mut().unwrap().eof ^= true;
        assert!(
            failure(&group, &c).contains("expected leftover"),
            "{role:?}"
        );
    }
}

#[test]
fn each_profile_checks_its_own_outcome() {
    for role in [Role::ClientHandshake, Role::ServerHandshake] {
        let (group, mut case) = accepted_case(role);
        case.expected.version = Some(case.expected.version.unwrap() + 1);
        assert!(
            failure(&group, &case).contains("expected version"),
            "{role:?}"
        );
    }
    for role in [Role::DbusClient, Role::DbusServer] {
        let (group, mut case) = accepted_case(role);
        case.expected.dbus.as_mut().unwrap().unix_fd ^= true;
        assert!(
            failure(&group, &case).contains("expected Some(DbusOutcome"),
            "{role:?}"
        );
    }
}

#[test]
fn a_decide_event_is_not_a_dbus_event() {
    let (group, mut case) = accepted_case(Role::DbusServer);
    case.events.insert(
        0,
        Event::Decide {
            decision: mon_ipc_conformance_core::model::Decision::Accept,
        },
    );
    assert!(failure(&group, &case).contains("is not a D-Bus event"));
}
