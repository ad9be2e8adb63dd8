"""torchpin: pick, pin, install and verify the right PyTorch build for a machine."""

__version__ = "0.1.0"
__all__ = ["__version__"]
