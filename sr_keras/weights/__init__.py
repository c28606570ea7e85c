"""Importers of pretrained weights from other frameworks (ncnn, PyTorch) into sr_keras models."""
