"""The dataset scenario of a run config: the widths the data impose, and the training / test sets of every sample.

Randomness: the runner's data child of SeedSequence(seed) draws each sample's training images (and the sparse
connectivity), its test child draws the held-out test images; samples are independent draws of M images.
"""
from __future__ import annotations

import numpy as np

from .. import datasets
from ..model import TrainingSet, draw_connectivity


def _source(config) -> datasets.Source:
    return datasets.load_source(config.data.source)


def dataset_widths(config) -> tuple[int, int]:
    """(N_0, N_L) of a dataset config: pixels after pooling, and the output code's width. Checks the request
    (classes present, enough images) so a bad one fails at validation, before anything is written."""
    d = config.data
    source = _source(config)
    datasets.check_request(source, d.source, list(d.classes), int(d.M), int(d.M_test))
    return datasets.input_width(source, d.pool), datasets.code_width(len(d.classes), d.coding)


def make_dataset_training_set(config, spec, data_rng: np.random.Generator,
                              test_rng: np.random.Generator) -> TrainingSet:
    """One TrainingSet for the run's n_samples independent draws; extra holds the test images and labels."""
    d = config.data
    source = _source(config)
    draws = [datasets.draw_dataset(source, list(d.classes), int(d.M), int(d.M_test), d.threshold, d.pool, d.coding,
                                   data_rng, test_rng) for _ in range(config.run.n_samples)]
    stack = lambda name: np.stack([getattr(x, name) for x in draws])
    idx = draw_connectivity(spec, data_rng, (config.run.n_samples,))
    extra = {"test_inputs": stack("test_inputs"), "test_labels": stack("test_labels"),
             "train_labels": stack("train_labels"), "n_classes": len(d.classes), "coding": d.coding}
    return TrainingSet(stack("inputs"), stack("outputs"), idx, extra=extra)
