"""Keras 3 layers whose gradients are written by hand (tf.custom_gradient)."""
