//! Typed errors of the photo pipeline.
//!
//! Every error has an English [`Display`](std::fmt::Display) (for logs) and
//! a [`PhotoErrorKind`] a UI can branch on; the app turns it into a code
//! its catalogs word for the citizen.

/// What went wrong, without details: what a UI branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PhotoErrorKind {
    /// The input has no bytes.
    Empty,
    /// The input file is larger than `PhotoOptions::max_input_bytes`.
    TooLarge,
    /// The bytes are not any image format we recognise (e.g. a text file renamed `.jpg`).
    NotAnImage,
    /// A recognised image format that the pipeline does not accept (HEIC, GIF, TIFF, BMP...).
    UnsupportedFormat,
    /// The image is damaged or truncated (e.g. an interrupted download).
    Corrupt,
    /// The image claims more pixels than the limits allow (too big, or a decompression bomb).
    DimensionsTooLarge,
    /// Re-encoding failed; not the user's fault.
    Internal,
}

impl PhotoErrorKind {
    /// A stable snake_case code, for logs, analytics and APIs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLarge => "too_large",
            Self::NotAnImage => "not_an_image",
            Self::UnsupportedFormat => "unsupported_format",
            Self::Corrupt => "corrupt",
            Self::DimensionsTooLarge => "dimensions_too_large",
            Self::Internal => "internal",
        }
    }
}

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhotoError {
    /// The input has no bytes.
    #[error("the file is empty")]
    Empty,
    /// The input file is larger than allowed.
    #[error("the file is {size} bytes, above the limit of {max} bytes")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The configured limit in bytes.
        max: usize,
    },
    /// Not an image format we recognise.
    #[error("the file is not an image")]
    NotAnImage,
    /// A recognised but refused image format.
    #[error("unsupported image format {format}; accepted formats are JPEG, PNG and WebP")]
    UnsupportedFormat {
        /// Name of the detected format, e.g. `"HEIC"`.
        format: String,
    },
    /// The image could not be decoded: damaged or truncated.
    #[error("the image is damaged or truncated: {detail}")]
    Corrupt {
        /// What the decoder said (English, for logs).
        detail: String,
    },
    /// The image claims more pixels than allowed (refused before the pixel buffer is allocated).
    #[error("the image is {width}x{height} pixels, above the limits ({detail})")]
    DimensionsTooLarge {
        /// Width claimed by the file header (0 if unknown).
        width: u32,
        /// Height claimed by the file header (0 if unknown).
        height: u32,
        /// Which limit was hit.
        detail: String,
    },
    /// Re-encoding failed.
    #[error("could not encode the JPEG: {detail}")]
    Internal {
        /// What the encoder said.
        detail: String,
    },
}

impl PhotoError {
    /// The kind of error, for a UI to branch on.
    pub fn kind(&self) -> PhotoErrorKind {
        match self {
            Self::Empty => PhotoErrorKind::Empty,
            Self::TooLarge { .. } => PhotoErrorKind::TooLarge,
            Self::NotAnImage => PhotoErrorKind::NotAnImage,
            Self::UnsupportedFormat { .. } => PhotoErrorKind::UnsupportedFormat,
            Self::Corrupt { .. } => PhotoErrorKind::Corrupt,
            Self::DimensionsTooLarge { .. } => PhotoErrorKind::DimensionsTooLarge,
            Self::Internal { .. } => PhotoErrorKind::Internal,
        }
    }
}

impl From<image::ImageError> for PhotoError {
    fn from(e: image::ImageError) -> Self {
        use image::ImageError as E;
        match e {
            E::Limits(l) => Self::DimensionsTooLarge {
                width: 0,
                height: 0,
                detail: l.to_string(),
            },
            E::Unsupported(u) => match u.format_hint() {
                image::error::ImageFormatHint::Unknown => Self::NotAnImage,
                hint => Self::UnsupportedFormat {
                    format: hint.to_string(),
                },
            },
            E::Encoding(err) => Self::Internal {
                detail: err.to_string(),
            },
            other @ (E::Decoding(_) | E::Parameter(_) | E::IoError(_)) => Self::Corrupt {
                detail: other.to_string(),
            },
        }
    }
}
