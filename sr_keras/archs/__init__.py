"""Network architectures: Keras 3 functional models (generators and discriminators)."""
