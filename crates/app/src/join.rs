//! Joining a unit: a QR code (picture or scanned text) or what a person typed
//! becomes a [`JoinPayload`]; when a network is there, the server it names is
//! asked whether it is CDHT ([`check_join_server`]); then the join is stored
//! on the device, and the sync loop enrols with the server when it can.
//!
//! A join works offline (stored, enrolled later): only an answer that proves
//! the address wrong refuses it — nothing answers there while the network
//! works, or something that is not CDHT answers.

use crate::{decode_qr_text, person_input_from, App, AppError, AppResult};
use cdht_core::qr::JoinPayload;
use cdht_core::AreaType;
use cdht_core::Code;
use cdht_store::{JoinUnit, Unit};
use cdht_sync_engine::{ServerConfig, SyncError, SyncErrorKind};

/// The join payload of a QR code picked as an image (a photo or screenshot).
pub fn join_payload_from_qr_image(image_bytes: &[u8]) -> AppResult<JoinPayload> {
    join_payload_from_qr_text(&decode_qr_text(image_bytes)?)
}

/// The join payload of a scanned QR code's text (the camera scanner on mobile).
pub fn join_payload_from_qr_text(text: &str) -> AppResult<JoinPayload> {
    Ok(JoinPayload::parse(text)?)
}

/// The join payload of what a person typed (printed under the QR code).
pub fn join_payload_typed(server: &str, unit: &str, join_key: &str) -> AppResult<JoinPayload> {
    Ok(JoinPayload::from_typed(server, unit, join_key)?)
}

/// Asks the payload's server whether it is CDHT, before the join is stored.
/// Refuses (`join_not_cdht`, `join_server_not_answering`, or the client's own
/// refusal such as `insecure_server`) only what a later sync could never fix
/// by itself; no network, a slow link or a busy server let the join through.
pub async fn check_join_server(payload: &JoinPayload, config: &ServerConfig) -> AppResult<()> {
    match config.check_server(&payload.server).await {
        Ok(()) => Ok(()),
        Err(err) => join_check_verdict(&err, &payload.server),
    }
}

/// The join's decision on the check's failure, as a pure function.
fn join_check_verdict(err: &SyncError, server: &str) -> AppResult<()> {
    let detail = format!("{server}: {err}");
    match err.kind() {
        SyncErrorKind::NotCdht => Err(AppError::new(Code::JoinNotCdht, detail)),
        SyncErrorKind::ServerNotAnswering => {
            Err(AppError::new(Code::JoinServerNotAnswering, detail))
        }
        // The address itself is refused by this app (plain HTTP to a LAN
        // host): no sync could ever use it.
        SyncErrorKind::Rejected => Err(AppError::new(err.as_code(), detail)),
        // No network, too slow, busy, a certificate to fix: stored, and the
        // sync screen says what it waits for.
        SyncErrorKind::Offline
        | SyncErrorKind::RetryLater
        | SyncErrorKind::CertificateUntrusted
        | SyncErrorKind::AuthExpired
        | SyncErrorKind::Store
        | SyncErrorKind::BadCredentials
        | SyncErrorKind::ForbiddenRole => Ok(()),
    }
}

impl App {
    /// Joins the unit of a QR code picked as an image (a photo or screenshot).
    pub fn join_unit_from_qr_image(&mut self, image_bytes: &[u8]) -> AppResult<Unit> {
        self.join_unit(&join_payload_from_qr_image(image_bytes)?)
    }

    /// Joins the unit of a scanned QR code's text (the camera scanner on mobile).
    pub fn join_unit_from_qr_text(&mut self, text: &str) -> AppResult<Unit> {
        self.join_unit(&join_payload_from_qr_text(text)?)
    }

    /// Joins a unit from what a person typed (printed under the QR code).
    pub fn join_unit_typed(&mut self, server: &str, unit: &str, join_key: &str) -> AppResult<Unit> {
        self.join_unit(&join_payload_typed(server, unit, join_key)?)
    }

    /// Stores the join on the device (no network needed).
    pub fn join_unit(&mut self, payload: &JoinPayload) -> AppResult<Unit> {
        let join_payload = serde_json::to_value(payload)
            .map_err(|err| AppError::new(Code::StorageError, format!("the join payload: {err}")))?;
        // Offline, the unit's name and area type are not known yet (an empty
        // name): the store shows the code until the first sync brings the real
        // name, and a re-join keeps a name it already has.
        let unit = self.store.join_unit(&JoinUnit {
            unit_code: payload.unit.clone(),
            name: String::new(),
            server_url: payload.server.clone(),
            join_payload,
            area_type: AreaType::Normal,
        })?;
        // The citizen's own profile belongs to the unit they joined last.
        if let Some(me) = self.store.self_person()? {
            if me.unit_code.is_none() {
                let mut input = person_input_from(&me);
                input.unit_code = Some(unit.unit_code.clone());
                self.store.upsert_person(&input)?;
            }
        }
        Ok(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_that_prove_the_address_wrong_refuse_a_join() {
        let server = "https://cdht.example.vn";
        let refused = |err: SyncError| join_check_verdict(&err, server).expect_err("refused").kind;
        assert_eq!(
            refused(SyncError::NotCdht("HTTP 200: <html>".into())),
            "join_not_cdht"
        );
        assert_eq!(
            refused(SyncError::ServerNotAnswering("connection refused".into())),
            "join_server_not_answering"
        );
        assert_eq!(
            refused(SyncError::RefusedHere {
                code: cdht_core::Code::InsecureServer {
                    server: "http://192.0.2.1".into()
                },
                detail: "…".into()
            }),
            "insecure_server"
        );
        for passes in [
            SyncError::Offline("timed out".into()),
            SyncError::RetryLater {
                code: "busy".into(),
                message: String::new(),
            },
            SyncError::CertificateUntrusted("unknown issuer".into()),
        ] {
            assert!(join_check_verdict(&passes, server).is_ok(), "{passes:?}");
        }
    }
}
