"""A TensorFlow-Serving-REST-compatible server for development and tests, and a client for apps.

``serving.server`` serves the numbered SavedModel versions under a model base path with TF
Serving's REST API; ``serving.client.RecommenderClient`` talks to it or to a real TF Serving."""
