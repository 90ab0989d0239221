"""Behaviour-tree building blocks (py_trees) that react to the emotion node's topics."""
