//! Row mapping, one file per table: reading rows into the model and the
//! writes several actions share. Below the actions (`impl Store`, one
//! transaction each); these import only the SQL helpers, the model and the
//! errors, never an action (`tests/import_graph.rs` checks it).

pub(crate) mod assessments;
pub(crate) mod evidence;
pub(crate) mod outbox;
pub(crate) mod removal;
