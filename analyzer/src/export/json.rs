//! `--format json`: one document with stable field names, for scripts.
//!
//! ```text
//! {
//!   "format": "trainwatt-report",
//!   "version": 1,
//!   "notes": [string],                  // energy mode, modelled sources, exclusions, warnings
//!   "tables": [{
//!     "id": string,                      // models | eq3 | criteria | overall | ratios | platforms | epochs
//!     "title": string,
//!     "columns": [{"key": string, "name": string, "unit": string|null}],
//!     "rows": [{<column key>: number|string|null}],
//!     "notes": [string]
//!   }]
//! }
//! ```
//! Numbers are written at full precision in the column's unit (the text
//! formats round them); empty cells are `null`. Column keys are snake_case
//! and do not change when the unit does: read the unit from `columns`.
//! Objects are written with their keys in alphabetical order.
//!
//! Column keys by table: `models`: arch, width, runs (only when some model
//! has several runs), stop_epoch, accuracy, energy, eff_eq2, eff_eq3;
//! `eq3`: platform, dataset, arch, criterion, widths, censored, eq3, min,
//! max, t95_low, t95_high, boot95_low, boot95_high; `criteria`: platform,
//! dataset, arch, eq3_0 … eq3_{k-1} (one per criterion, in the order of the
//! columns' names), eq4, criteria_used; `overall`: arch, one key per
//! dataset, `{a}_over_{b}` per dataset ratio; `ratios`: platform, ratio,
//! compares, within, value; `platforms`: dataset, arch, ratio, value;
//! `epochs`: platform, dataset, arch, width, seed, fold, run_id, epoch,
//! train_acc, test_acc, elapsed_s, energy, eff_eq2 (and net_energy,
//! net_eff_eq2 with --baseline).

use super::{Cell, ExportError, Exporter, Report, Table};
use serde_json::{json, Map, Value};

/// JSON document writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

fn cell_value(c: &Cell) -> Value {
    match c {
        Cell::Empty => Value::Null,
        Cell::Text(s) => Value::String(s.clone()),
        Cell::Int(i) => json!(i),
        // serde_json writes non-finite floats as null.
        Cell::Num { value, .. } => json!(value),
    }
}

fn table_value(table: &Table) -> Value {
    let columns: Vec<Value> = table
        .columns
        .iter()
        .map(|c| json!({"key": c.key, "name": c.name, "unit": c.unit}))
        .collect();
    let rows: Vec<Value> = table
        .rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for (col, cell) in table.columns.iter().zip(r) {
                m.insert(col.key.clone(), cell_value(cell));
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "id": table.id,
        "title": table.title,
        "columns": columns,
        "rows": rows,
        "notes": table.notes,
    })
}

fn pretty(v: &Value, table: &str) -> Result<String, ExportError> {
    let mut s = serde_json::to_string_pretty(v).map_err(|source| ExportError::Json {
        table: table.to_string(),
        source,
    })?;
    s.push('\n');
    Ok(s)
}

impl Exporter for JsonExporter {
    fn render(&self, table: &Table) -> Result<String, ExportError> {
        pretty(&table_value(table), &table.id)
    }

    fn render_notes(&self, _notes: &[String]) -> Option<String> {
        None
    }

    fn render_report(&self, report: &Report) -> Result<String, ExportError> {
        let tables: Vec<Value> = report.tables.iter().map(table_value).collect();
        let doc = json!({
            "format": "trainwatt-report",
            "version": 1,
            "notes": report.notes,
            "tables": tables,
            "excluded": report.excluded,
        });
        pretty(&doc, "report")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::sample;

    #[test]
    fn stable_keys_full_precision_and_nulls() {
        let s = JsonExporter.render(&sample()).unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["rows"][0]["eff_eq2"], json!(12.83));
        assert_eq!(v["rows"][1]["energy"], Value::Null);
        assert_eq!(v["columns"][4]["unit"], json!("1/W-sum ×10⁻⁶"));
        insta::assert_snapshot!(s);
    }

    #[test]
    fn report_is_one_document() {
        let r = Report {
            notes: vec!["energy: sample-sum".into()],
            tables: vec![sample(), sample()],
            excluded: vec![crate::model::Excluded {
                dir: "/a/run=x".into(),
                reason: crate::archive::ExclusionReason::new(
                    crate::archive::ExclusionKind::MissingManifest,
                    std::path::Path::new("/a/run=x"),
                    "manifest.json is missing".into(),
                ),
            }],
        };
        let v: Value = serde_json::from_str(&JsonExporter.render_report(&r).unwrap()).unwrap();
        assert_eq!(v["tables"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["format"], json!("trainwatt-report"));
        assert_eq!(
            v["excluded"][0]["reason"]["kind"],
            json!("missing-manifest")
        );
        assert_eq!(v["excluded"][0]["dir"], json!("/a/run=x"));
    }
}
