//! Evidence photos on the wire: resumable chunked uploads that follow the
//! link's speed, the server's upload status, and checked downloads.

use super::*;

impl SyncClient {
    /// Downloads an evidence photo (`GET /api/v1/evidence/{sha256}`), at most
    /// [`MAX_EVIDENCE_DOWNLOAD_BYTES`], and returns its bytes only if their
    /// sha256 is the one asked for. A damaged or oversized answer is a
    /// [`SyncError::Protocol`].
    pub async fn download_evidence(&self, sha256: &str) -> SyncResult<Vec<u8>> {
        if !is_sha256_hex(sha256) {
            return Err(SyncError::Protocol(format!(
                "{sha256:?} is not a lower-case sha256"
            )));
        }
        self.retrying(|| self.download_once(sha256)).await
    }

    async fn download_once(&self, sha256: &str) -> SyncResult<Vec<u8>> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let request = self
            .http
            .get(self.url(&format!("/api/v1/evidence/{sha256}")));
        let mut response = self
            .authed(request)
            .send()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        let status = response.status();
        let too_large = || {
            SyncError::Protocol(format!(
                "photo {sha256} is larger than {MAX_EVIDENCE_DOWNLOAD_BYTES} bytes"
            ))
        };
        if status.is_success()
            && response
                .content_length()
                .is_some_and(|len| len > MAX_EVIDENCE_DOWNLOAD_BYTES as u64)
        {
            return Err(too_large());
        }
        // Read piece by piece so a lying or missing length cannot fill memory.
        let mut bytes = Vec::new();
        while let Some(piece) = response
            .chunk()
            .await
            .map_err(|e| SyncError::from_transport(&e))?
        {
            if bytes.len() + piece.len() > MAX_EVIDENCE_DOWNLOAD_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&piece);
        }
        if !status.is_success() {
            return Err(error_from_status(status.as_u16(), &bytes));
        }
        if sha256_hex(&bytes) != sha256 {
            return Err(SyncError::Protocol(format!(
                "the bytes received are not photo {sha256}"
            )));
        }
        Ok(bytes)
    }

    pub async fn evidence_status(&self, sha256: &[String]) -> SyncResult<Vec<EvidenceStatus>> {
        let query = EvidenceQuery {
            sha256: sha256.to_vec(),
        };
        let response: EvidenceQueryResponse = self
            .retrying(|| self.post_json("/api/v1/evidence/status", &query))
            .await?;
        Ok(response.items)
    }

    /// Uploads one photo: asks what the server has, then sends the rest in
    /// chunks from there. A cut connection costs at most the chunk in flight:
    /// the next attempt asks again and resumes from the server's count.
    pub async fn upload_evidence(&self, bytes: &[u8]) -> SyncResult<UploadReport> {
        let sha = sha256_hex(bytes);
        let mut report = UploadReport::default();
        let mut failures = 0u32;
        loop {
            let status = self
                .evidence_status(std::slice::from_ref(&sha))
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| SyncError::Protocol("empty evidence status".into()))?;
            if status.complete {
                return Ok(report);
            }
            if status.size != bytes.len() as u64 {
                return Err(SyncError::Rejected {
                    status: 404,
                    code: "unknown_evidence".into(),
                    message: "push the evidence record before its photo".into(),
                    params: crate::error::Params::new(),
                });
            }
            let mut offset = status.received;
            if report.first_offset.is_none() {
                report.first_offset = Some(offset);
            }
            let outcome = self
                .send_chunks(&sha, bytes, &mut offset, &mut report)
                .await;
            match outcome {
                Ok(()) => return Ok(report),
                Err(SyncError::Conflict { code, .. }) if code == "offset_mismatch" => {}
                Err(e) if e.is_retry_later() => {
                    if failures + 1 >= self.retry.max_attempts {
                        return Err(e);
                    }
                    tokio::time::sleep(self.retry.delay(failures)).await;
                    failures += 1;
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends one chunk of photo `sha256` starting at `offset` (which must be
    /// the server's `received`) and returns the server's new status. The
    /// caller records `received` after each call, so a kill loses at most the
    /// chunk in flight. No retry here: the caller asks the status again.
    pub async fn put_evidence_chunk(
        &self,
        sha256: &str,
        offset: u64,
        chunk: &[u8],
    ) -> SyncResult<EvidenceStatus> {
        let request = self
            .http
            .put(self.url(&format!("/api/v1/evidence/{sha256}?offset={offset}")))
            .header("content-type", "application/octet-stream")
            .body(chunk.to_vec());
        self.counters
            .evidence_bytes_sent
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        self.counters
            .evidence_chunks
            .fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let answer = self.send(request).await;
        match &answer {
            Ok(_) => {
                let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                self.sizer().sent(chunk.len(), elapsed);
            }
            Err(e) if e.is_retry_later() => self.sizer().cut(),
            Err(_) => {}
        }
        answer
    }

    /// The size of the next evidence chunk: it follows the link.
    #[must_use]
    pub fn chunk_size(&self) -> usize {
        self.sizer().size()
    }

    /// The retry policy this client uses.
    #[must_use]
    pub const fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    async fn send_chunks(
        &self,
        sha: &str,
        bytes: &[u8],
        offset: &mut u64,
        report: &mut UploadReport,
    ) -> SyncResult<()> {
        let total = bytes.len();
        loop {
            let start = usize::try_from(*offset).unwrap_or(total).min(total);
            let end = (start + self.chunk_size()).min(total);
            report.bytes_sent += (end - start) as u64;
            let status = self
                .put_evidence_chunk(sha, start as u64, &bytes[start..end])
                .await?;
            *offset = status.received;
            if status.complete {
                return Ok(());
            }
        }
    }
}

/// What one [`SyncClient::upload_evidence`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Bytes put on the wire (a chunk cut in flight counts).
    pub bytes_sent: u64,
    /// Where the server said to start (0 for a fresh upload, `None` if it had it all).
    pub first_offset: Option<u64>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_malformed_photo_hash_is_refused_before_any_request() {
        let client = SyncClient::new("http://127.0.0.1:9", &[]).unwrap();
        for bad in ["", "../../etc/passwd", &"A".repeat(64), &"0".repeat(63)] {
            assert!(matches!(
                client.download_evidence(bad).await,
                Err(SyncError::Protocol(_))
            ));
        }
        assert_eq!(client.counters().requests.load(Ordering::SeqCst), 0);
    }
}
