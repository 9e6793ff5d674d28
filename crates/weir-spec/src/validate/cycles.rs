//! Cycle checks: tasks of one DAG that wait for each other, and components whose DAG runs
//! themselves again (directly or through other components).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Problem;
use crate::model::{DagSpec, PipelineSpec, TaskSpec};

/// Reports each dependency cycle among the tasks of `dag`, owned by the component at `path`.
pub(super) fn check_task_cycles(path: &str, dag: &DagSpec, problems: &mut Vec<Problem>) {
    let graph: BTreeMap<&str, Vec<&str>> =
        dag.tasks.iter().map(|(name, task)| (name.as_str(), upstream_tasks(name, task))).collect();
    for cycle in find_cycles(&graph) {
        problems.push(Problem::new(
            format!("{path}.dag.tasks"),
            format!(
                "tasks form a dependency cycle: {} (each task depends on the next); remove one \
                 of these dependencies",
                cycle.join(" -> ")
            ),
        ));
    }
}

/// Reports each cycle of components whose DAG tasks refer back to a component on the path.
pub(super) fn check_component_cycles(spec: &PipelineSpec, problems: &mut Vec<Problem>) {
    let graph: BTreeMap<&str, Vec<&str>> = spec
        .components
        .iter()
        .map(|(name, component)| {
            let called: BTreeSet<&str> = component
                .dag
                .iter()
                .flat_map(|dag| dag.tasks.values())
                .map(|task| task.component_ref.name.as_str())
                .filter(|called| spec.components.contains_key(*called))
                .collect();
            (name.as_str(), called.into_iter().collect())
        })
        .collect();
    for cycle in find_cycles(&graph) {
        problems.push(Problem::new(
            format!("components.{}.dag", cycle[0]),
            format!(
                "components form a cycle: {} (each component's DAG runs the next); a component \
                 cannot contain itself",
                cycle.join(" -> ")
            ),
        ));
    }
}

/// Tasks that `task` waits for: its `dependentTasks` plus every producer it reads from. A
/// reference to itself is left out because the task check reports it.
fn upstream_tasks<'a>(name: &str, task: &'a TaskSpec) -> Vec<&'a str> {
    let mut upstream: BTreeSet<&str> = task.dependent_tasks.iter().map(String::as_str).collect();
    for input in task.inputs.parameters.values() {
        if let Some(output) = &input.task_output_parameter {
            upstream.insert(&output.producer_task);
        }
        if let Some(status) = &input.task_final_status {
            upstream.insert(&status.producer_task);
        }
    }
    for input in task.inputs.artifacts.values() {
        if let Some(output) = &input.task_output_artifact {
            upstream.insert(&output.producer_task);
        }
    }
    upstream.remove(name);
    upstream.into_iter().collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unvisited,
    OnPath,
    Finished,
}

/// Finds cycles with an iterative depth-first search in name order. Each cycle is the list of
/// node names along its edges, starting and ending with the same node. Edges to nodes missing
/// from the graph are ignored.
fn find_cycles<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut marks: BTreeMap<&str, Mark> = graph.keys().map(|k| (*k, Mark::Unvisited)).collect();
    let mut cycles = Vec::new();

    for &start in graph.keys() {
        if marks.get(start) != Some(&Mark::Unvisited) {
            continue;
        }
        marks.insert(start, Mark::OnPath);
        // Each entry is a node on the current path and the index of its next edge to follow.
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];

        while let Some(&(node, edge)) = path.last() {
            let edges = graph.get(node).map(Vec::as_slice).unwrap_or_default();
            let Some(&next) = edges.get(edge) else {
                marks.insert(node, Mark::Finished);
                path.pop();
                continue;
            };
            if let Some(top) = path.last_mut() {
                top.1 += 1;
            }
            match marks.get(next) {
                Some(Mark::Unvisited) => {
                    marks.insert(next, Mark::OnPath);
                    path.push((next, 0));
                }
                Some(Mark::OnPath) => {
                    let begin = path.iter().position(|(n, _)| *n == next).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[begin..].iter().map(|(n, _)| *n).collect();
                    cycle.push(next);
                    cycles.push(cycle);
                }
                Some(Mark::Finished) | None => {}
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycles_of(edges: &[(&'static str, &[&'static str])]) -> Vec<Vec<&'static str>> {
        let graph: BTreeMap<&str, Vec<&str>> =
            edges.iter().map(|(node, next)| (*node, next.to_vec())).collect();
        find_cycles(&graph)
    }

    #[test]
    fn finds_no_cycle_in_diamond() {
        let cycles = cycles_of(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        assert!(cycles.is_empty(), "{cycles:?}");
    }

    #[test]
    fn finds_three_task_cycle_in_order() {
        let cycles = cycles_of(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
        assert_eq!(cycles, vec![vec!["a", "b", "c", "a"]]);
    }

    #[test]
    fn finds_two_separate_cycles() {
        let cycles = cycles_of(&[("a", &["b"]), ("b", &["a"]), ("x", &["y"]), ("y", &["x"])]);
        assert_eq!(cycles, vec![vec!["a", "b", "a"], vec!["x", "y", "x"]]);
    }

    #[test]
    fn ignores_edges_to_unknown_nodes() {
        let cycles = cycles_of(&[("a", &["missing"])]);
        assert!(cycles.is_empty());
    }
}
