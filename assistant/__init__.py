"""Wegwijzer Sociale Innovatie: cited answers on sociale innovatie for Dutch SMEs."""

__version__ = "0.1.0"
