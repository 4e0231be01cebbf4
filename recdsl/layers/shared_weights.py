"""Weights named by role, so that layers of different attention ops can share them (`share=`).

An attention layer makes each of its weights through `role_weight(role, shape, ...)`. Before it
is built, `borrow(owner, roles)` names another built layer and the roles to take from it: those
weights are then the owner's own variables (one set in model.weights, trained by the gradients
of both uses), tracked in the order the layer would have made them, so a saved model.keras
loads into a fresh, unlinked copy of the layer (which then holds its own copy of equal values).

The roles the ops have in common (recdsl.ops.attention_weights states them and their shapes):
    key, key_bias        the learned transform of each position before it is scored: target
                         attention's K Wk + bk, traditional attention's first FC, self/cross
                         attention's W_K, b_K (of their first layer)
    query, value, output (and _bias)  self/cross attention's W_Q, W_V, W_O (first layer;
                         layer i > 0 adds the suffix _i)
"""
from __future__ import annotations


class RoleWeights:
    """Mixin for keras.layers.Layer: weights made by role, borrowable from another layer."""

    def borrow(self, owner, roles) -> None:
        """Take the weights of `roles` from `owner` (a built layer) when this layer is built."""
        # object.__setattr__: Keras would track a layer or a container held as an attribute
        object.__setattr__(self, "_lender", (owner, tuple(roles)))

    def role_weight(self, role: str, shape, initializer="glorot_uniform", name: str | None = None):
        """The weight playing `role`: the lender's when borrowed, else a new one named `name` (role)."""
        lent = getattr(self, "_lender", None)
        if lent is not None and role in lent[1]:
            variable = lent[0].weights_by_role()[role]
            if tuple(variable.shape) != tuple(shape):
                raise ValueError(f"{self.name} cannot borrow {role} {tuple(variable.shape)} from {lent[0].name}: "
                                 f"it needs {tuple(shape)}")
            self._track_variable(variable)
        else:
            variable = self.add_weight(name=name or role, shape=tuple(shape), initializer=initializer)
        roles = getattr(self, "_roles", None)
        if roles is None:
            roles = {}
            object.__setattr__(self, "_roles", roles)
        roles[role] = variable
        return variable

    def weights_by_role(self) -> dict:
        """{role: variable} of the weights this layer made or borrowed (after build)."""
        return dict(getattr(self, "_roles", {}))
