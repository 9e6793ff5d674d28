//! Loads every compiled pipeline of the shared KFP IR corpus and checks task counts against the
//! corpus index. The shared folder is `../../../shared` from this crate, or `$WEIR_SHARED`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use weir_spec::{count_tasks, describe, load_file};

fn shared_dir() -> PathBuf {
    match std::env::var_os("WEIR_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn corpus_dir() -> PathBuf {
    shared_dir().join("corpus/kfp-ir")
}

fn corpus_files() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list corpus folder {}: {error}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.file_name().is_some_and(|name| name != "INDEX.md"))
        .collect();
    files.sort();
    files
}

/// File name -> Tasks column of the corpus INDEX.md table.
fn index_task_counts() -> BTreeMap<String, usize> {
    let path = corpus_dir().join("INDEX.md");
    let index = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut counts = BTreeMap::new();
    for line in index.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `file` | `source path` | SDK | Tasks | DAGs | ...
        if cells.len() < 6 || !cells[1].starts_with('`') {
            continue;
        }
        let (Some(name), Ok(tasks)) = (cells[1].strip_prefix('`'), cells[4].parse::<usize>())
        else {
            continue;
        };
        counts.insert(name.trim_end_matches('`').to_string(), tasks);
    }
    counts
}

#[test]
fn corpus_loads_without_problems() {
    let files = corpus_files();
    assert_eq!(files.len(), 146, "corpus file count");

    let mut failures = Vec::new();
    for path in &files {
        if let Err(error) = load_file(path) {
            failures.push(format!("{}:\n{error}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} files failed to load:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn task_counts_match_index_examples() {
    let cases = [
        ("automl_tabular_pipeline.yaml", 56),
        ("automl_tabular_feature_selection_pipeline.yaml", 57),
        ("frontend-test__pipeline_with_loops_and_conditions.yaml", 27),
        ("pipeline_with_loops_and_conditions.yaml", 27),
        ("hello_world.yaml", 1),
        ("if_elif_else_complex.yaml", 28),
        ("pipeline_with_parallelfor_parallelism.yaml", 27),
        ("bqml_arima_train_pipeline.yaml", 38),
        ("xgboost_sample_pipeline.json", 8),
        ("nested_with_parameters.yaml", 6),
    ];
    for (file, expected) in cases {
        let pipeline = load_file(&corpus_dir().join(file))
            .unwrap_or_else(|error| panic!("{file} failed to load: {error}"));
        assert_eq!(count_tasks(&pipeline.spec), expected, "task count of {file}");
    }
}

#[test]
fn task_counts_match_whole_index() {
    let index = index_task_counts();
    assert_eq!(index.len(), 146, "rows read from INDEX.md");

    let mut mismatches = Vec::new();
    let mut total = 0;
    for (file, expected) in &index {
        let Ok(pipeline) = load_file(&corpus_dir().join(file)) else {
            mismatches.push(format!("{file}: failed to load"));
            continue;
        };
        let counted = count_tasks(&pipeline.spec);
        total += counted;
        if counted != *expected {
            mismatches.push(format!("{file}: counted {counted}, index says {expected}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(total, 909, "tasks over all files");
}

#[test]
fn corpus_descriptions_show_total() {
    for path in corpus_files() {
        let Ok(pipeline) = load_file(&path) else { continue };
        let text = describe(&pipeline);
        let total = format!("Tasks: {} task", count_tasks(&pipeline.spec));
        assert!(text.contains(&total), "{}: no {total:?} in\n{text}", path.display());
        assert!(text.starts_with("Pipeline: "), "{}", path.display());
    }
}
