"""Pure jit-compiled JAX kernels (arrays in, arrays out; no pandas, no item names)."""
