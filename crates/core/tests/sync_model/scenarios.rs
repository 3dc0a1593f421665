//! Scenarios for the model: random ones, the steps that settle them, the
//! first one the properties found, and short failure messages.

use super::{Model, Status, Step, DEVICES, INDICATORS};
use cdht_core::{Answer, Answers};
use proptest::prelude::*;

/// The scenario the properties found first: device 0 submits version 2 of
/// an assessment while the server already holds version 3 from device 1
/// (`superseded`: its answers never taken); they are kept when version 3 is
/// pulled.
pub const SUPERSEDED: [Step; 14] = [
    Step::Return { record: 0 },
    Step::Sync { device: 0 },
    Step::Sync { device: 1 },
    Step::Edit {
        device: 1,
        record: 0,
        indicator: 0,
        points: 9,
    },
    Step::Submit {
        device: 1,
        record: 0,
    },
    Step::Sync { device: 1 },
    Step::Return { record: 0 },
    Step::Sync { device: 1 },
    Step::Edit {
        device: 1,
        record: 0,
        indicator: 0,
        points: 8,
    },
    Step::Submit {
        device: 1,
        record: 0,
    },
    Step::Sync { device: 1 },
    Step::Edit {
        device: 0,
        record: 0,
        indicator: 1,
        points: 1,
    },
    Step::Submit {
        device: 0,
        record: 0,
    },
    Step::Sync { device: 0 },
];

/// Device 1 submits version 2 and, before pushing it, pulls device 0's
/// versions 2 and 3: the planner defers them (its own push goes first), the
/// push is superseded, and the round after pulls version 3 over it, keeping
/// its answers. Skipped instead of deferred, version 3 never comes back.
pub const DEFERRED: [Step; 17] = [
    Step::Return { record: 0 },
    Step::Sync { device: 0 },
    Step::Sync { device: 1 },
    Step::Edit {
        device: 1,
        record: 0,
        indicator: 0,
        points: 9,
    },
    Step::Submit {
        device: 1,
        record: 0,
    },
    Step::Edit {
        device: 0,
        record: 0,
        indicator: 1,
        points: 1,
    },
    Step::Submit {
        device: 0,
        record: 0,
    },
    Step::Sync { device: 0 },
    Step::Return { record: 0 },
    Step::Sync { device: 0 },
    Step::Edit {
        device: 0,
        record: 0,
        indicator: 1,
        points: 2,
    },
    Step::Submit {
        device: 0,
        record: 0,
    },
    Step::Sync { device: 0 },
    Step::PullOnly { device: 1 },
    Step::Sync { device: 1 },
    Step::Sync { device: 0 },
    Step::Sync { device: 1 },
];

/// Answers as ten digits (points 10 as `X`), for short failure messages.
pub fn brief(answers: &Answers) -> String {
    answers
        .0
        .iter()
        .map(|(_, a)| match a {
            Answer::Points(10) => 'X',
            Answer::Points(p) => {
                char::from_digit(u32::try_from(*p).unwrap_or(0), 10).unwrap_or('?')
            }
            Answer::Level(_) => 'L',
        })
        .collect()
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (r, held) in self.server.records.iter().enumerate() {
            writeln!(
                f,
                "server r{r}: v{} {} {:?}",
                held.version,
                brief(&held.answers),
                held.state
            )?;
        }
        writeln!(f, "log: {:?}", self.server.log)?;
        for (d, device) in self.devices.iter().enumerate() {
            for (r, held) in device.records.iter().enumerate() {
                if let Some(h) = held {
                    writeln!(
                        f,
                        "device {d} r{r}: v{} {} {:?} rev {}/{} kept {:?} typed {:?}",
                        h.sync_version,
                        brief(&h.answers),
                        h.status,
                        h.revision,
                        h.synced_revision,
                        device.kept[r].iter().map(brief).collect::<Vec<_>>(),
                        device.typed[r].as_ref().map(brief),
                    )?;
                }
            }
            for row in &device.outbox {
                writeln!(
                    f,
                    "device {d} outbox: r{} v{} {} {:?}",
                    row.record,
                    row.version,
                    brief(&row.answers),
                    row.state
                )?;
            }
        }
        Ok(())
    }
}

/// A random scenario over `records` assessments; `lost_answers` and
/// `pull_only` allow [`Step::SyncAnswerLost`] and [`Step::PullOnly`].
pub fn steps(
    records: usize,
    max_len: usize,
    lost_answers: bool,
    pull_only: bool,
) -> impl Strategy<Value = Vec<Step>> {
    let device = 0..DEVICES;
    let record = 0..records;
    let step = prop_oneof![
        4 => (device.clone(), record.clone(), 0..INDICATORS.len(), 0i64..=10).prop_map(
            |(device, record, indicator, points)| Step::Edit { device, record, indicator, points }
        ),
        2 => (device.clone(), record.clone()).prop_map(|(device, record)| Step::Submit { device, record }),
        3 => device.clone().prop_map(|device| Step::Sync { device }),
        u32::from(lost_answers) => device.clone().prop_map(|device| Step::SyncAnswerLost { device }),
        u32::from(pull_only) => device.prop_map(|device| Step::PullOnly { device }),
        2 => record.clone().prop_map(|record| Step::Return { record }),
        1 => record.prop_map(|record| Step::Approve { record }),
    ];
    proptest::collection::vec(step, 1..max_len)
}

/// A random scenario as [`steps`], with deletes: a person deleting an
/// assessment entered by mistake ([`Step::Delete`]), as often as an approval.
pub fn steps_with_deletes(
    records: usize,
    max_len: usize,
    lost_answers: bool,
    pull_only: bool,
) -> impl Strategy<Value = Vec<Step>> {
    let device = 0..DEVICES;
    let record = 0..records;
    let step = prop_oneof![
        4 => (device.clone(), record.clone(), 0..INDICATORS.len(), 0i64..=10).prop_map(
            |(device, record, indicator, points)| Step::Edit { device, record, indicator, points }
        ),
        2 => (device.clone(), record.clone()).prop_map(|(device, record)| Step::Submit { device, record }),
        3 => device.clone().prop_map(|device| Step::Sync { device }),
        u32::from(lost_answers) => device.clone().prop_map(|device| Step::SyncAnswerLost { device }),
        u32::from(pull_only) => device.clone().prop_map(|device| Step::PullOnly { device }),
        2 => record.clone().prop_map(|record| Step::Return { record }),
        1 => record.clone().prop_map(|record| Step::Approve { record }),
        1 => (device, record).prop_map(|(device, record)| Step::Delete { device, record }),
    ];
    proptest::collection::vec(step, 1..max_len)
}

/// After the scenario: every person submits what they typed and did not
/// send, then both devices sync until nothing changes (two rounds each).
pub fn settle_steps(model: &Model) -> Vec<Step> {
    let mut steps = Vec::new();
    for (device, d) in model.devices.iter().enumerate() {
        for (record, held) in d.records.iter().enumerate() {
            if held
                .as_ref()
                .is_some_and(|h| h.status == Status::Returned && h.revision != h.synced_revision)
            {
                steps.push(Step::Submit { device, record });
            }
        }
    }
    for _ in 0..2 {
        for device in 0..DEVICES {
            steps.push(Step::Sync { device });
        }
    }
    steps
}
