//! What a person answers: the input of scoring, shared by the app, the sync
//! protocol and the server.

use crate::ids::{CatalogId, GroupId, IndicatorId, LevelId};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Where a person lives decides the pass threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AreaType {
    #[default]
    Normal,
    /// Remote, ethnic-minority or disadvantaged area (vùng sâu, vùng xa, vùng khó khăn).
    Difficult,
}

impl AreaType {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Difficult => "difficult",
        }
    }

    /// The area type [`Self::as_str`] names.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "normal" => Some(Self::Normal),
            "difficult" => Some(Self::Difficult),
            _ => None,
        }
    }
}

/// One indicator's answer: points given directly, or an answer level picked
/// from the catalog. In JSON: a number (`8`) or a level id (`"a"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
// Serialized by hand below: a number or a level id, so untagged for TypeScript.
#[cfg_attr(feature = "ts", ts(untagged))]
pub enum Answer {
    /// Points as given; the range is checked against the catalog when scoring,
    /// so out-of-range input gets a typed error rather than a parse failure.
    Points(i64),
    Level(LevelId),
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Points(p) => s.serialize_i64(*p),
            Self::Level(l) => s.serialize_str(l.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AnswerVisitor;
        impl Visitor<'_> for AnswerVisitor {
            type Value = Answer;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("whole points (a number) or an answer level id (a string)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Answer, E> {
                Ok(Answer::Points(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Answer, E> {
                Ok(Answer::Points(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Answer, E> {
                // 8.0 is fine; 7.5 is not: indicators are scored in whole points.
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(Answer::Points(v as i64))
                } else {
                    Err(E::custom(format!("points must be a whole number, got {v}")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Answer, E> {
                Ok(Answer::Level(LevelId::new(v)))
            }
        }
        d.deserialize_any(AnswerVisitor)
    }
}

/// The answers of one assessment, in the order given. Kept as a list, not a
/// map, so that an indicator given twice is reported instead of silently
/// keeping the last one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answers(pub Vec<(IndicatorId, Answer)>);

impl Answers {
    #[must_use]
    pub fn get(&self, indicator: &str) -> Option<&Answer> {
        self.0
            .iter()
            .find(|(id, _)| id.as_str() == indicator)
            .map(|(_, a)| a)
    }

    /// Sets an answer, replacing an earlier one for the same indicator.
    pub fn set(&mut self, indicator: IndicatorId, answer: Answer) {
        match self.0.iter_mut().find(|(id, _)| *id == indicator) {
            Some(slot) => slot.1 = answer,
            None => self.0.push((indicator, answer)),
        }
    }
}

impl FromIterator<(IndicatorId, Answer)> for Answers {
    fn from_iter<T: IntoIterator<Item = (IndicatorId, Answer)>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Serialize for Answers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl<'de> Deserialize<'de> for Answers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AnswersVisitor;
        impl<'de> Visitor<'de> for AnswersVisitor {
            type Value = Answers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of indicator id to answer, like {\"1.1\": 8}")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Answers, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Answer>()? {
                    out.push((IndicatorId::new(k), v));
                }
                Ok(Answers(out))
            }
        }
        d.deserialize_map(AnswersVisitor)
    }
}

// Answer and Answers have hand-written serde, which a derived schema would not
// follow, so their schemas are written to match it: a number or a level id, in
// an object keyed by indicator id.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Answer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
        };
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .description(Some("Points given directly (whole points).")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("An answer level id of the indicator, e.g. `a`.")),
            )
            .description(Some(
                "One indicator's answer: points (a number) or an answer level id (a string).",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Answer {}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Answers {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(utoipa::openapi::Ref::from_schema_name("Answer")))
            .description(Some(
                "Indicator id to answer, in the order given, e.g. `{\"1.1\": 8, \"1.2\": \"a\"}`.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Answers {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("Answer".to_owned(), Answer::schema()));
    }
}

/// An assessment to score: the JSON the CLI reads and the app builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    pub catalog: CatalogId,
    pub group: GroupId,
    #[serde(default)]
    pub area: AreaType,
    pub answers: Answers,
}
