"""Keras layers behind the op registry: one class per component, `keras.ops` only.

The emitter resolves a registry entry's `layer="recdsl.layers.<module>:<Class>"` path with
`load_layer`; nothing here imports Keras until a layer module is loaded.
"""
from __future__ import annotations

import importlib

__all__ = ["load_layer", "load_model", "register_all"]


def register_all() -> None:
    """Import every layer module, so Keras can deserialize saved models that use them."""
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def load_layer(path: str) -> type:
    """The layer class named by a "module:Class" path, e.g. "recdsl.layers.din:DinAttention".

    A bare module name ("din:DinAttention") is looked up inside recdsl.layers.
    """
    module_name, sep, class_name = path.partition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(f"layer path {path!r} is not of the form 'module:Class'")
    if "." not in module_name:
        module_name = f"{__name__}.{module_name}"
    module = importlib.import_module(module_name)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no layer {class_name!r}") from None


def load_model(path, compile: bool = False):
    """A saved recdsl model (model.keras) as a keras.Model, with recdsl's layers registered."""
    import keras

    register_all()
    return keras.saving.load_model(path, compile=compile)
