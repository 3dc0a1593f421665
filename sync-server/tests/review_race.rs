#![allow(clippy::unwrap_used)]
//! Two reviewers acting on one assessment, against the real server and its
//! SQLite file: whoever comes second finds it moved on and gets
//! `409 wrong_state` (with the state it is in now), in either order and when
//! both requests race; exactly one decision is kept, audited and sent to the
//! person's phone. Withdrawing an approval stays possible, said explicitly.

mod support;

use cdht_core::ids::AssessmentId;
use cdht_core::sync::{Change, DeviceState, ReviewState};
use cdht_sync_client::SyncClient;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

/// An approve or a return, as a reviewer sends it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Approve,
    Return,
    /// A return of what the reviewer saw approved (`from: approved`).
    Withdraw,
}

impl Act {
    const fn state(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Return | Self::Withdraw => "returned",
        }
    }
}

struct Bench {
    server: TestServer,
    device: SyncClient,
    seq: u64,
    http: reqwest::Client,
    /// (username, token) of two reviewers of DEMO-X1-C1.
    reviewers: [(String, String); 2],
}

impl Bench {
    async fn new() -> Self {
        let server = start().await;
        let device = server.device("DEMO-X1-C1").await;
        let mut reviewers = Vec::new();
        for name in ["kiemtra-x1", "admin-tinh"] {
            let officer = server.officer(name).await;
            reviewers.push((name.to_owned(), officer.token().unwrap().to_owned()));
        }
        Self {
            server,
            device,
            seq: 0,
            http: reqwest::Client::new(),
            reviewers: reviewers.try_into().unwrap(),
        }
    }

    async fn submitted(&mut self) -> AssessmentId {
        self.seq += 1;
        let (_, aid) = push_person_with_assessment(
            &self.device,
            self.seq,
            &format!("Người thứ {}", self.seq),
            None,
            DeviceState::Submitted,
        )
        .await;
        aid
    }

    async fn act(&self, who: usize, act: Act, aid: AssessmentId) -> (StatusCode, Value) {
        let (path, body) = match act {
            Act::Approve => ("approve", json!({})),
            Act::Return => ("return", json!({"reason": "Thiếu ảnh minh chứng"})),
            Act::Withdraw => (
                "return",
                json!({"reason": "Duyệt nhầm", "from": "approved"}),
            ),
        };
        let answer = self
            .http
            .post(format!(
                "{}/api/v1/assessments/{aid}/{path}",
                self.server.url
            ))
            .bearer_auth(&self.reviewers[who].1)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, json)
    }

    async fn detail(&self, aid: AssessmentId) -> Value {
        self.http
            .get(format!("{}/api/v1/assessments/{aid}", self.server.url))
            .bearer_auth(&self.reviewers[0].1)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The audit entries of this assessment's reviews (approve, return).
    async fn decisions(&self, aid: AssessmentId) -> Vec<Value> {
        let log: Vec<Value> = self
            .http
            .get(format!("{}/api/v1/units/DEMO-X1/audit", self.server.url))
            .bearer_auth(&self.reviewers[0].1)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log.into_iter()
            .filter(|e| e["assessment"] == aid.to_string())
            .filter(|e| e["action"] == "approve" || e["action"] == "return")
            .collect()
    }

    /// The review states the person's phone pulls for this assessment.
    async fn pulled(&self, aid: AssessmentId) -> Vec<ReviewState> {
        let (changes, _) = self.device.pull_all(0).await.unwrap();
        changes
            .into_iter()
            .filter_map(|c| match c.change {
                Change::Review {
                    assessment, state, ..
                } if assessment == aid => Some(state),
                _ => None,
            })
            .collect()
    }

    /// Exactly one decision, `winner`'s: the stored state, the detail's last
    /// review, the audit and what the phone pulls agree.
    async fn assert_one_decision(&self, aid: AssessmentId, winner: usize, act: Act, seen: &str) {
        let d = self.detail(aid).await;
        assert_eq!(d["state"], act.state(), "{act:?}: {d}");
        assert_eq!(d["last_review"]["actor"], self.reviewers[winner].0.as_str());
        let decisions = self.decisions(aid).await;
        assert_eq!(decisions.len(), 1, "{act:?}: {decisions:?}");
        assert_eq!(decisions[0]["actor"], self.reviewers[winner].0.as_str());
        assert_eq!(decisions[0]["from_state"], seen);
        assert_eq!(decisions[0]["to_state"], act.state());
        let want = if act == Act::Approve {
            ReviewState::Approved
        } else {
            ReviewState::Returned
        };
        assert_eq!(self.pulled(aid).await, [want]);
    }
}

fn assert_wrong_state((status, body): &(StatusCode, Value), now: &str, to: &str) {
    assert_eq!(*status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "wrong_state", "{body}");
    assert_eq!(body["params"]["state"], now, "{body}");
    assert_eq!(body["params"]["to"], to, "{body}");
}

#[tokio::test]
async fn the_second_reviewer_is_refused_in_either_order() {
    let mut b = Bench::new().await;
    for (first, second) in [
        (Act::Approve, Act::Return),
        (Act::Return, Act::Approve),
        (Act::Approve, Act::Approve),
        (Act::Return, Act::Return),
    ] {
        let aid = b.submitted().await;
        assert_eq!(b.act(0, first, aid).await.0, StatusCode::NO_CONTENT);
        let refused = b.act(1, second, aid).await;
        assert_wrong_state(&refused, first.state(), second.state());
        b.assert_one_decision(aid, 0, first, "submitted").await;
    }
}

#[tokio::test]
async fn racing_reviewers_leave_exactly_one_decision() {
    let mut b = Bench::new().await;
    for round in 0..8 {
        let (a, c) = if round % 2 == 0 {
            (Act::Approve, Act::Return)
        } else {
            (Act::Return, Act::Approve)
        };
        let aid = b.submitted().await;
        let (one, two) = tokio::join!(b.act(0, a, aid), b.act(1, c, aid));
        let (winner, act, loser) = match (one.0, two.0) {
            (StatusCode::NO_CONTENT, _) => (0, a, two),
            (_, StatusCode::NO_CONTENT) => (1, c, one),
            _ => panic!("neither decision was taken: {one:?} {two:?}"),
        };
        let lost = if winner == 0 { c } else { a };
        assert_wrong_state(&loser, act.state(), lost.state());
        b.assert_one_decision(aid, winner, act, "submitted").await;
    }
}

#[tokio::test]
async fn an_approval_is_withdrawn_only_by_saying_so_and_only_once() {
    let mut b = Bench::new().await;
    let aid = b.submitted().await;
    // Withdrawing what is not approved is refused: the reviewer saw old state.
    assert_wrong_state(&b.act(0, Act::Withdraw, aid).await, "submitted", "returned");
    assert_eq!(b.act(0, Act::Approve, aid).await.0, StatusCode::NO_CONTENT);
    // Two reviewers withdraw the same approval at once: one of them does.
    let (one, two) = tokio::join!(b.act(0, Act::Withdraw, aid), b.act(1, Act::Withdraw, aid));
    let statuses = [one.0, two.0];
    assert!(
        statuses.contains(&StatusCode::NO_CONTENT),
        "{one:?} {two:?}"
    );
    let loser = if one.0 == StatusCode::NO_CONTENT {
        two
    } else {
        one
    };
    assert_wrong_state(&loser, "returned", "returned");
    let d = b.detail(aid).await;
    assert_eq!(d["state"], "returned");
    assert_eq!(d["return_reason"], "Duyệt nhầm");
    let decisions = b.decisions(aid).await;
    let moves: Vec<(&str, &str)> = decisions
        .iter()
        .map(|e| {
            (
                e["from_state"].as_str().unwrap(),
                e["to_state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(moves.len(), 2, "{decisions:?}");
    assert!(moves.contains(&("submitted", "approved")));
    assert!(moves.contains(&("approved", "returned")));
    assert_eq!(
        b.pulled(aid).await,
        [ReviewState::Approved, ReviewState::Returned]
    );
    // A state a return cannot start from.
    let aid = b.submitted().await;
    let (status, body) = b
        .http
        .post(format!("{}/api/v1/assessments/{aid}/return", b.server.url))
        .bearer_auth(&b.reviewers[0].1)
        .json(&json!({"reason": "x", "from": "recognised"}))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    let body: Value = body.json().await.unwrap();
    assert_wrong_state(&(status, body), "submitted", "returned");
}
