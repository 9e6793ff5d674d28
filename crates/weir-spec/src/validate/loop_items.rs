//! Finds the DAG component inputs that carry a ParallelFor loop item, for the type check.
//!
//! The kfp compiler (seen with 2.17.3) declares the loop item of a list whose element type it
//! does not know, such as an untyped `list` pipeline input or a `-> list` task output, as
//! STRING. That STRING means "unknown": at run time the element passes through unchanged (kfp.local
//! 2.17.3 gives a `float` input the float 0.1 from `[0.1, 0.2]`). The item input is declared on the loop's body
//! component. Each nested DAG inside the body (a `dsl.If`, an inner loop) that uses the item
//! declares its own STRING input fed from the parent's, and [`LoopItemInputs`] follows these.

use std::collections::BTreeSet;

use crate::model::{ComponentSpec, ParameterType, PipelineSpec};

/// The `(component name, input name)` pairs of DAG component inputs that receive a loop item,
/// either from a task's `parameterIterator.itemInput` or passed down from such an input of the
/// enclosing DAG.
#[derive(Debug, Default)]
pub(super) struct LoopItemInputs {
    pairs: BTreeSet<(String, String)>,
}

impl LoopItemInputs {
    pub fn find(spec: &PipelineSpec) -> LoopItemInputs {
        let mut pairs = BTreeSet::new();
        for (_, component) in dag_components(spec) {
            let Some(dag) = &component.dag else { continue };
            for task in dag.tasks.values() {
                if let Some(iterator) = &task.parameter_iterator {
                    pairs.insert((task.component_ref.name.clone(), iterator.item_input.clone()));
                }
            }
        }

        // Each pass follows one more level of nesting, and a pass adds at least one pair or
        // ends the loop, so the number of task inputs bounds the passes.
        loop {
            let mut added = Vec::new();
            for (owner, component) in dag_components(spec) {
                let Some(dag) = &component.dag else { continue };
                for task in dag.tasks.values() {
                    for (key, input) in &task.inputs.parameters {
                        let Some(source) = &input.component_input_parameter else { continue };
                        let pair = (task.component_ref.name.clone(), key.clone());
                        // Root inputs are pipeline parameters, never loop items.
                        let Some(owner) = owner else { continue };
                        let from_item = pairs.contains(&(owner.to_string(), source.clone()));
                        if from_item && !pairs.contains(&pair) {
                            added.push(pair);
                        }
                    }
                }
            }
            if added.is_empty() {
                break;
            }
            pairs.extend(added);
        }
        LoopItemInputs { pairs }
    }

    /// Returns whether input `input` of the DAG component `component` (`None` for the root)
    /// receives a loop item.
    pub fn contains(&self, component: Option<&str>, input: &str) -> bool {
        let Some(component) = component else { return false };
        self.pairs.contains(&(component.to_string(), input.to_string()))
    }
}

/// Returns the type the type check uses for a loop item input of type `declared`: STRING, the
/// compiler's stand-in for an unknown element type, becomes unspecified, which matches every
/// input type.
pub(super) fn item_type(declared: ParameterType) -> ParameterType {
    match declared {
        ParameterType::String => ParameterType::Unspecified,
        other => other,
    }
}

/// Yields every component that has a DAG with its name, the root first with `None`.
fn dag_components(spec: &PipelineSpec) -> impl Iterator<Item = (Option<&str>, &ComponentSpec)> {
    let root = std::iter::once((None, &spec.root));
    let named = spec.components.iter().map(|(name, component)| (Some(name.as_str()), component));
    root.chain(named).filter(|(_, component)| component.dag.is_some())
}
