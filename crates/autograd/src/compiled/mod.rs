//! Record once, replay many: [`CompiledTape`] turns one recorded step into a program that runs
//! forward and backward again on new input values, with no recording — CppAD's taped
//! functions, or a JIT without a compiler.

mod dense;
mod plan;
mod profile;
mod run;

use crate::error::{Error, Result};
pub use profile::{StepTime, StepTimes};
use run::{Grads, Scratch};
use std::fmt;
use tapegrad_graph::op::Op;
use tapegrad_graph::{Float, Graph, NodeId, Tensor, Var};

/// How to compile a tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// Group scalar nodes that do the same op on different data (micrograd's demo runs one
    /// network on 100 points) and run each group as one loop over its lanes. On by default;
    /// off, every node is its own step (a plain replay).
    pub lanes: bool,
    /// Run chains of lane groups that add products to a sum (a neuron's `Σ wᵢxᵢ`), each product
    /// and partial sum used nowhere else, as one dot product per lane. On by default; it needs
    /// `lanes`.
    pub multiply_adds: bool,
    /// Run each dense layer — a matrix product, the bias added to its rows and the
    /// elementwise activation after it, `act(x·W + b)`, each value read by the next op alone
    /// — as one step. On by default; off, they run as the ops they were recorded as (the
    /// bits are the same either way).
    pub dense_layers: bool,
    /// Compile even though the recording read values back ([`Graph::value_reads`]): the caller
    /// declares that no branch taken while recording depended on them. Off by default.
    pub allow_value_reads: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { lanes: true, multiply_adds: true, dense_layers: true, allow_value_reads: false }
    }
}

/// What compiling kept and how it grouped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileStats {
    /// Nodes on the tape when it was compiled.
    pub recorded: usize,
    /// Nodes the program computes: those between the inputs and the outputs (the others are
    /// dropped, or folded into constants).
    pub kept: usize,
    /// Steps the program runs (a lane group is one step, and so is a dense layer).
    pub steps: usize,
    /// Groups of more than one lane.
    pub lane_groups: usize,
    /// Nodes in those groups.
    pub laned_nodes: usize,
    /// The most lanes in one group.
    pub widest: usize,
    /// Lane groups that are dot products: chains of multiplies and adds fused
    /// (`acc + x₁·w₁ + x₂·w₂ + …`).
    pub fused: usize,
    /// Dense layers run as one step (a product, its bias and its activation).
    pub dense: usize,
}

impl fmt::Display for CompileStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use tapegrad_graph::thousands;
        write!(
            f,
            "{} recorded nodes, {} kept, run as {} steps ({} lane groups of up to {} lanes hold {} nodes, {} of them dot products",
            thousands(self.recorded),
            thousands(self.kept),
            thousands(self.steps),
            thousands(self.lane_groups),
            thousands(self.widest),
            thousands(self.laned_nodes),
            thousands(self.fused)
        )?;
        if self.dense > 0 {
            write!(f, "; {} dense layers", thousands(self.dense))?;
        }
        write!(f, ")")
    }
}

/// A recorded step compiled for replay: set new input values, run [`CompiledTape::forward`]
/// and [`CompiledTape::backward`], read outputs and input gradients — no recording, no graph.
///
/// Compile from one recording: `inputs` are the leaves whose values change between replays
/// (parameters, and data made with [`Graph::var`]); `outputs` the results to read, the first
/// of which is the one differentiated (a loss). Nodes on no path from the inputs to the
/// outputs are dropped; the others that do not depend on an input are constants, frozen at
/// their recorded values. Replays equal the recorded path bit for bit (a zero gradient may
/// differ in its sign).
///
/// A replay is only right when the code that recorded the step did not branch on values it
/// read back (`item`, `value`, …): compiling refuses a recording with such reads
/// ([`Error::ValueReads`], naming where they happened), unless
/// [`CompileOptions::allow_value_reads`] declares them harmless.
///
/// ```
/// use tapegrad_autograd::CompiledTape;
/// use tapegrad_graph::{Graph, Tensor};
/// let g = Graph::new();
/// let (w, x) = (g.scalar(2.0), g.scalar(3.0));
/// let loss = (w * x - 1.0).square();
/// let mut step = CompiledTape::new(&[w, x], &[loss])?;
///
/// step.set_input_scalar(0, 0.5)?;       // w = 0.5, x = 3
/// step.backward()?;                     // runs forward first: the inputs changed
/// assert_eq!(step.output_scalar(0)?, 0.25);
/// assert_eq!(step.grad_scalar(0)?, 3.0); // 2·(w·x − 1)·x
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub struct CompiledTape<F: Float> {
    program: plan::Program<F>,
    grads: Grads<F>,
    scratch: Scratch<F>,
    input_nodes: Vec<NodeId>,
    stale: bool,
}

impl<F: Float> CompiledTape<F> {
    /// Compiles the recording of `outputs` as a function of `inputs`, with the default
    /// [`CompileOptions`].
    pub fn new(inputs: &[Var<'_, F>], outputs: &[Var<'_, F>]) -> Result<Self> {
        Self::with_options(inputs, outputs, CompileOptions::default())
    }

    /// [`CompiledTape::new`] with `options`.
    ///
    /// Errors: [`Error::ValueReads`] for a recording that read values back (unless allowed),
    /// [`Error::CompileInput`] for an input that is not a leaf, [`Error::ForeignVar`] for
    /// `Var`s of different graphs, [`Error::HooksNotReplayed`] for a graph with gradient hooks.
    pub fn with_options(inputs: &[Var<'_, F>], outputs: &[Var<'_, F>], options: CompileOptions) -> Result<Self> {
        let Some(first) = outputs.first() else {
            return Err(Error::CompileInput { index: 0, message: "no outputs: give at least the loss".into() });
        };
        let graph: &Graph<F> = first.graph();
        if inputs.iter().chain(outputs).any(|v| !std::ptr::eq(v.graph(), graph)) {
            return Err(Error::ForeignVar { op: "CompiledTape::new" });
        }
        if graph.has_hooks() {
            return Err(Error::HooksNotReplayed);
        }
        if !options.allow_value_reads && graph.value_read_count() > 0 {
            let reads = graph.value_reads();
            let listed: Vec<String> = reads.iter().map(|r| format!("  {r}")).collect();
            return Err(Error::ValueReads { count: graph.value_read_count(), listed: listed.join("\n") });
        }
        let tape = graph.tape();
        for (index, v) in inputs.iter().enumerate() {
            let op = tape.op(v.id());
            if !matches!(op, Op::Leaf) {
                let message = format!(
                    "node #{} is a `{}`, not a leaf: inputs are made with Graph::var or Graph::scalar (a constant's derived values are not recorded, so they could not follow it)",
                    v.id(),
                    op.name()
                );
                return Err(Error::CompileInput { index, message });
            }
            if inputs[..index].iter().any(|u| u.id() == v.id()) {
                return Err(Error::CompileInput { index, message: format!("node #{} is listed twice", v.id()) });
            }
        }
        let input_nodes: Vec<NodeId> = inputs.iter().map(|v| v.id()).collect();
        let output_nodes: Vec<NodeId> = outputs.iter().map(|v| v.id()).collect();
        let program = match plan::plan(
            &tape,
            &input_nodes,
            &output_nodes,
            options.lanes,
            options.multiply_adds,
            options.dense_layers,
        ) {
            Ok(program) => program,
            // Grouping would change how some gradient rounds: every node its own step.
            Err(plan::Reordered) => {
                match plan::plan(&tape, &input_nodes, &output_nodes, false, false, options.dense_layers) {
                    Ok(program) => program,
                    Err(plan::Reordered) => unreachable!("without lanes the steps are the tape's own order"),
                }
            }
        };
        let grads = Grads::new(program.scalars.len(), program.tensors.len());
        Ok(CompiledTape { program, grads, scratch: Scratch::default(), input_nodes, stale: false })
    }

    /// What compiling kept and how it grouped it.
    pub fn stats(&self) -> CompileStats {
        self.program.stats
    }

    /// The number of inputs.
    pub fn num_inputs(&self) -> usize {
        self.program.inputs.len()
    }

    /// The number of outputs.
    pub fn num_outputs(&self) -> usize {
        self.program.outputs.len()
    }

    fn slot(&self, index: usize, of_inputs: bool) -> Result<plan::Slot> {
        let (slots, what) = if of_inputs { (&self.program.inputs, "input") } else { (&self.program.outputs, "output") };
        slots.get(index).copied().ok_or_else(|| Error::NoSuchSlot { what, index, count: slots.len() })
    }

    /// Sets input `index` to `value`, which must have the recorded shape.
    pub fn set_input(&mut self, index: usize, value: &Tensor<F>) -> Result<()> {
        match self.input_slot(index, value.shape())? {
            plan::Slot::Scalar(s) => self.program.scalars[s as usize] = value.data()[0],
            plan::Slot::Tensor(t) => self.program.tensors[t as usize].assign(value),
        }
        self.stale = true;
        Ok(())
    }

    /// Sets the scalar input `index` to `value`.
    pub fn set_input_scalar(&mut self, index: usize, value: F) -> Result<()> {
        match self.slot(index, true)? {
            plan::Slot::Scalar(s) => self.program.scalars[s as usize] = value,
            plan::Slot::Tensor(t) => {
                let expected = self.program.tensors[t as usize].shape().clone();
                return Err(Error::InputShape { index, expected, found: tapegrad_graph::Shape::scalar() });
            }
        }
        self.stale = true;
        Ok(())
    }

    /// Input `index`'s slot, or the error when a value of shape `found` cannot go there (a
    /// shape other than the recorded one).
    fn input_slot(&self, index: usize, found: &tapegrad_graph::Shape) -> Result<plan::Slot> {
        let slot = self.slot(index, true)?;
        let scalar;
        let recorded = match slot {
            plan::Slot::Scalar(_) => {
                scalar = tapegrad_graph::Shape::scalar();
                &scalar
            }
            plan::Slot::Tensor(t) => self.program.tensors[t as usize].shape(),
        };
        if recorded == found {
            Ok(slot)
        } else {
            Err(Error::InputShape { index, expected: recorded.clone(), found: found.clone() })
        }
    }

    /// Runs the program forward on the current inputs.
    pub fn forward(&mut self) -> Result<()> {
        run::forward(&mut self.program, &mut self.scratch, &mut ())?;
        self.stale = false;
        Ok(())
    }

    /// Runs the program backward from the first output (a gradient of ones), running it
    /// forward first when an input changed since the last forward pass.
    /// [`Error::NoGradient`] when no input that is a leaf reaches the first output.
    pub fn backward(&mut self) -> Result<()> {
        if self.stale {
            self.forward()?;
        }
        if self.program.root.is_none() {
            return Err(Error::NoGradient);
        }
        run::backward(&self.program, &mut self.grads, &mut self.scratch, &mut ());
        Ok(())
    }

    /// Output `index`'s value after the last forward pass (its recorded value before the first).
    pub fn output(&self, index: usize) -> Result<Tensor<F>> {
        Ok(match self.slot(index, false)? {
            plan::Slot::Scalar(s) => Tensor::scalar(self.program.scalars[s as usize]),
            plan::Slot::Tensor(t) => self.program.tensors[t as usize].clone(),
        })
    }

    /// The single element of output `index`.
    pub fn output_scalar(&self, index: usize) -> Result<F> {
        match self.slot(index, false)? {
            plan::Slot::Scalar(s) => Ok(self.program.scalars[s as usize]),
            plan::Slot::Tensor(t) => Ok(self.program.tensors[t as usize].try_item()?),
        }
    }

    /// The gradient of the first output with respect to input `index`, after the last
    /// backward pass (zeros when the input does not reach the output).
    pub fn grad(&self, index: usize) -> Result<Tensor<F>> {
        Ok(match self.slot(index, true)? {
            plan::Slot::Scalar(s) => Tensor::scalar(self.grads.scalars[s as usize]),
            plan::Slot::Tensor(t) => match &self.grads.tensors[t as usize] {
                Some(g) => g.clone(),
                None => Tensor::zeros(self.program.tensors[t as usize].shape().clone()),
            },
        })
    }

    /// The gradient with respect to the scalar input `index`.
    pub fn grad_scalar(&self, index: usize) -> Result<F> {
        match self.slot(index, true)? {
            plan::Slot::Scalar(s) => Ok(self.grads.scalars[s as usize]),
            plan::Slot::Tensor(_) => Ok(self.grad(index)?.try_item()?),
        }
    }

    /// The node each input was on the recorded tape.
    pub fn input_nodes(&self) -> &[NodeId] {
        &self.input_nodes
    }
}
