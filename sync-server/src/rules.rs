//! The sync conflict rules, pure, so every storage backend applies the same
//! ones (docs/sync-protocol.md, "Versions and conflicts").

use cdht_core::sync::ReviewState;

/// What the server holds of a record that a device pushes again.
#[derive(Debug, Clone)]
pub struct Existing<'a> {
    pub version: u32,
    pub hash: &'a str,
    /// For a person: the hash of the record as devices pull it (no CCCD), so
    /// a device re-sending the very version it pulled is `AlreadyHad`.
    pub sent_hash: Option<&'a str>,
    /// The unit that owns the record (its first pusher's unit).
    pub unit: &'a str,
    /// For assessments: the server's review state.
    pub state: Option<ReviewState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Insert,
    Update,
    AlreadyHad,
    Superseded,
    Reject {
        code: &'static str,
        message: &'static str,
    },
}

/// Decides one record, given what the server has and whether the pushing
/// device's scope covers it (rule 2: the owning unit inside the device's
/// subtree for a collector device; one of the people it pushed itself for an
/// `own_records` device; for a new record, that its person, if the server
/// knows them, is such a person).
#[must_use]
pub fn decide(
    existing: Option<&Existing<'_>>,
    in_scope: bool,
    version: u32,
    hash: &str,
) -> Decision {
    if !in_scope {
        return Decision::Reject {
            code: "out_of_scope",
            message: "Bản ghi này thuộc người hoặc đơn vị khác; thiết bị không được sửa.",
        };
    }
    let Some(old) = existing else {
        return Decision::Insert;
    };
    if version == old.version {
        return if hash == old.hash || old.sent_hash == Some(hash) {
            Decision::AlreadyHad
        } else {
            Decision::Reject {
                code: "version_conflict",
                message: "Bản ghi đã được sửa trên thiết bị khác với cùng phiên bản. \
                          Hãy đồng bộ lại rồi sửa tiếp.",
            }
        };
    }
    if version < old.version {
        return Decision::Superseded;
    }
    if let Some(state) = old.state {
        if !state.device_may_edit() {
            return Decision::Reject {
                code: "locked_after_review",
                message: "Bản đánh giá đã được cán bộ duyệt hoặc công nhận nên không sửa được \
                          nữa. Nếu cần sửa, hãy đề nghị cán bộ trả lại.",
            };
        }
    }
    Decision::Update
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old(state: Option<ReviewState>) -> Existing<'static> {
        Existing {
            version: 2,
            hash: "h2",
            sent_hash: Some("s2"),
            unit: "U",
            state,
        }
    }

    #[test]
    fn the_rule_table() {
        assert_eq!(decide(None, true, 1, "h"), Decision::Insert);
        assert!(matches!(
            decide(None, false, 1, "h"),
            Decision::Reject {
                code: "out_of_scope",
                ..
            }
        ));
        let o = old(Some(ReviewState::Submitted));
        assert_eq!(decide(Some(&o), true, 2, "h2"), Decision::AlreadyHad);
        assert_eq!(decide(Some(&o), true, 2, "s2"), Decision::AlreadyHad);
        assert!(matches!(
            decide(Some(&o), true, 2, "other"),
            Decision::Reject {
                code: "version_conflict",
                ..
            }
        ));
        assert_eq!(decide(Some(&o), true, 1, "h1"), Decision::Superseded);
        assert_eq!(decide(Some(&o), true, 3, "h3"), Decision::Update);
        assert!(matches!(
            decide(Some(&o), false, 3, "h3"),
            Decision::Reject {
                code: "out_of_scope",
                ..
            }
        ));
        for locked in [ReviewState::Approved, ReviewState::Recognised] {
            assert!(matches!(
                decide(Some(&old(Some(locked))), true, 3, "h3"),
                Decision::Reject {
                    code: "locked_after_review",
                    ..
                }
            ));
        }
        assert_eq!(
            decide(Some(&old(Some(ReviewState::Returned))), true, 3, "h3"),
            Decision::Update
        );
    }
}
