//! Whole-flow checks once every node is typed: references resolve, every node is reachable
//! from `entry`, and no loop runs through `set`/`goto`/`branch` nodes alone.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use super::{Result, Validator};
use crate::error::FlowProblem;
use crate::flow::{Flow, NodeId};

pub(super) fn check(
    v: &Validator<'_>,
    flow: &Flow,
    node_spans: &BTreeMap<NodeId, Range<usize>>,
) -> Result<()> {
    // Dangling references first, in the order they are written.
    let mut references: Vec<&(NodeId, Range<usize>)> = v.references.iter().collect();
    references.sort_by_key(|(_, span)| span.start);
    if let Some((name, span)) = references
        .into_iter()
        .find(|(name, _)| !flow.nodes.contains_key(name))
    {
        return Err(v.error(
            span.clone(),
            FlowProblem::UnknownNode {
                name: name.to_string(),
            },
        ));
    }

    let mut by_position: Vec<(&NodeId, &Range<usize>)> = node_spans.iter().collect();
    by_position.sort_by_key(|(_, span)| span.start);

    let mut reached = HashSet::new();
    let mut pending = vec![&flow.entry];
    while let Some(id) = pending.pop() {
        if reached.insert(id)
            && let Some(node) = flow.nodes.get(id)
        {
            pending.extend(node.successors());
        }
    }
    if let Some((id, span)) = by_position.iter().find(|(id, _)| !reached.contains(id)) {
        return Err(v.error(
            (*span).clone(),
            FlowProblem::UnreachableNode {
                name: id.to_string(),
            },
        ));
    }

    if let Some(cycle) = instant_cycle(flow, &by_position) {
        let span = cycle
            .first()
            .and_then(|first| node_spans.get(first.as_str()))
            .cloned()
            .unwrap_or(0..0);
        return Err(v.error(
            span,
            FlowProblem::LoopWithoutWait {
                nodes: cycle.iter().map(ToString::to_string).collect(),
            },
        ));
    }
    Ok(())
}

/// A loop among nodes that do not wait (the interpreter passes through them within one call),
/// as the list of its nodes with the first repeated at the end. Depth-first search with the
/// usual three colours; nodes are tried in file order so the report is stable.
fn instant_cycle(flow: &Flow, by_position: &[(&NodeId, &Range<usize>)]) -> Option<Vec<NodeId>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let instant = |id: &NodeId| flow.nodes.get(id).is_some_and(|node| !node.waits());
    let mut colour: BTreeMap<&NodeId, Colour> = BTreeMap::new();
    for (start, _) in by_position {
        if !instant(start) || colour.get(start).is_some_and(|c| *c != Colour::White) {
            continue;
        }
        // Iterative DFS: the path and, for each node on it, its successors not yet tried.
        let mut path: Vec<(&NodeId, Vec<&NodeId>)> = Vec::new();
        colour.insert(start, Colour::Grey);
        path.push((start, successors_rev(flow, start)));
        while let Some((node, rest)) = path.last_mut() {
            let node: &NodeId = node;
            match rest.pop() {
                Some(next) if instant(next) => match colour.get(next).copied() {
                    Some(Colour::Grey) => {
                        let from = path.iter().position(|(id, _)| *id == next).unwrap_or(0);
                        let mut cycle: Vec<NodeId> =
                            path[from..].iter().map(|(id, _)| (*id).clone()).collect();
                        cycle.push(next.clone());
                        return Some(cycle);
                    }
                    Some(Colour::Black) => {}
                    _ => {
                        colour.insert(next, Colour::Grey);
                        path.push((next, successors_rev(flow, next)));
                    }
                },
                Some(_) => {}
                None => {
                    colour.insert(node, Colour::Black);
                    path.pop();
                }
            }
        }
    }
    None
}

fn successors_rev<'a>(flow: &'a Flow, id: &NodeId) -> Vec<&'a NodeId> {
    let mut next = flow
        .nodes
        .get(id)
        .map(|node| node.successors())
        .unwrap_or_default();
    next.reverse();
    next
}
