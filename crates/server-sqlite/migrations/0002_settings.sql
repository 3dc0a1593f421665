-- Server-wide settings written by the operator's commands (e.g. `public_url`, set by
-- `init`, which `units qr` prints into every poster's QR).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
