"""Observables against exact facts: self-overlaps, sign symmetry, identical networks, ultrametric triangles."""
import numpy as np

from deepglass import observables as obs
from deepglass.model import NetworkSpec, forward, make_training_set, random_spins, random_weights, sample_inputs


def test_overlaps_of_a_configuration_with_itself_and_its_mirror():
    rng = np.random.default_rng(0)
    spec = NetworkSpec(N=7, L=3, c=4)
    S = random_spins(rng, (spec.L + 1, 5, spec.N))
    J = random_weights(spec, rng)
    np.testing.assert_allclose(obs.neuron_overlap(S, S), 1.0)
    np.testing.assert_allclose(obs.neuron_overlap(S, -S), -1.0)
    np.testing.assert_allclose(obs.weight_overlap(J, J), 1.0)      # rows have norm c: Q_aa = 1
    np.testing.assert_allclose(obs.weight_overlap(J, -J), -1.0)
    # independent random configurations: overlaps O(1/sqrt(N M)), far from 1
    S2 = random_spins(rng, S.shape)
    assert np.all(np.abs(obs.neuron_overlap(S, S2)) < 0.6)


def test_gaps_energy_violations_match_hand_counts():
    gaps = np.array([[[0.5, -0.2], [0.1, -1.0]]])   # one layer, 2 patterns, 2 neurons
    assert obs.violations_per_layer(gaps, 0.0).tolist() == [2]
    assert obs.violations_per_layer(gaps, 0.2).tolist() == [3]
    np.testing.assert_allclose(obs.energy_per_layer(gaps, 0.0, "soft"), [0.04 + 1.0])
    np.testing.assert_allclose(obs.energy_per_layer(gaps, 0.0, "hinge"), [1.2])
    np.testing.assert_allclose(obs.energy_per_layer(gaps, 0.0, "count"), [2.0])


def test_teacher_gaps_are_nonnegative_and_student_equal_teacher_generalises_perfectly():
    spec = NetworkSpec(N=9, L=3, c=5)
    rng = np.random.default_rng(1)
    data = make_training_set(spec, "teacher-student", 11, rng, (2,))
    gaps = obs.all_gaps(data.teacher.J, np.stack(data.teacher_layers, axis=1), data.idx)
    assert gaps.shape == (2, 3, 11, 9) and np.all(gaps >= 0)
    test = sample_inputs(spec, 50, rng, (2,))
    overlap = obs.test_overlap(data.teacher.J, data.teacher.J, test, data.idx)
    np.testing.assert_array_equal(overlap, 1.0)
    np.testing.assert_array_equal(obs.generalization_error_from_output_overlap(overlap), 0.0)
    # a student whose last layer is the teacher's with every row flipped outputs the opposite: eps_g = 1
    flipped = data.teacher.J.copy()
    flipped[:, -1] *= -1
    overlap = obs.test_overlap(flipped, data.teacher.J, test, data.idx)
    np.testing.assert_array_equal(overlap[:, -1], -1.0)
    np.testing.assert_array_equal(obs.generalization_error_from_output_overlap(overlap[:, -1]), 1.0)
    np.testing.assert_array_equal(overlap[:, :-1], 1.0)
    # an independent random student: eps_g near 1/2
    other = obs.test_overlap(random_weights(spec, rng, (2,)), data.teacher.J, sample_inputs(spec, 2000, rng, (2,)),
                             data.idx)
    assert np.all(np.abs(obs.generalization_error_from_output_overlap(other[:, -1]) - 0.5) < 0.2)


def test_triangles_are_sorted_and_ultrametricity_measure():
    # 4 replicas in two clusters {0,1}, {2,3}: intra overlap 0.8, inter 0.3 -> every triangle is isosceles
    R, q = 4, {(0, 1): 0.8, (2, 3): 0.8}
    pairs = obs.replica_pairs(R)
    ultra = np.array([[q.get(p, 0.3)] for p in pairs])              # (n_pairs, K=1)
    tri = obs.overlap_triangles(ultra, R)
    assert tri.shape == (4, 1, 3)
    assert np.all(np.diff(tri, axis=-1) >= 0)
    np.testing.assert_allclose(tri[..., 0], tri[..., 1])           # two smallest sides equal
    np.testing.assert_allclose(obs.ultrametricity_violation(tri), 0.0)
    # a non-ultrametric set: q_01=0.9, q_02=0.5, q_12=0.1 -> (0.5-0.1)/(0.9-0.1) = 0.5
    tri3 = obs.overlap_triangles(np.array([[0.9], [0.5], [0.1]]), 3)
    np.testing.assert_allclose(tri3[0, 0], [0.1, 0.5, 0.9])
    np.testing.assert_allclose(obs.ultrametricity_violation(tri3), [0.5])
