"""The paper's building blocks as Keras layers."""
