"""Tuned constants, in one place, with the workload each was measured on.

Measured on a 2-core x86-64 machine without a GPU (TensorFlow 2.21,
Keras 3.15); ``benchmarks/README.md`` has the figures and how to rerun them.
"""

# -- how the defaults adapt to the size of the data ---------------------------

# batch_size="auto": the largest power of two up to AUTO_BATCH_MAX that still
# gives an epoch AUTO_MIN_STEPS_PER_EPOCH steps, but never under
# AUTO_BATCH_MIN rows. 128 is the MNIST batch (60,000 rows) and suits
# load_digits' 1,347 training rows too; a 1,000-image subset gets 64.
AUTO_BATCH_MAX = 128
AUTO_BATCH_MIN = 16
AUTO_MIN_STEPS_PER_EPOCH = 8

# epochs="auto": enough epochs for AUTO_STEPS gradient steps, within
# [AUTO_EPOCHS_MIN, AUTO_EPOCHS_MAX]; the training rules may stop earlier.
# All of MNIST at batch 128 gets 20 epochs (the CNN's published schedule);
# load_digits gets 91. Measured with the MLP's defaults (5 stratified 75/25
# splits of load_digits; MNIST subsets of 1,000 and 5,000 images): 1,000
# steps gave 98.1%, 89.8% and 95.1%, against MLPClassifier's 97.8%, 88.5%
# and 93.7%; 4,000 steps gave no better accuracy in twice the time.
AUTO_STEPS = 1000
AUTO_EPOCHS_MIN = 20
AUTO_EPOCHS_MAX = 200
# With a learning-rate schedule that decays to the end of the fit (see
# lr_schedule), large data needs fewer epochs: the default CNN reaches
# 99.4% on MNIST in 8 one-cycle epochs (99.47%, 99.48% and 99.33% for seeds
# 0-2; with 2-pixel shifts and 8 first filters; 1-pixel shifts 99.36%;
# AMD EPYC without AVX-512, 2 cores; see benchmarks/README.md).
AUTO_EPOCHS_MIN_SCHEDULED = 8
# KerasClassifier's epochs="auto" has no floor beyond one epoch: with Keras's
# batch of 32 it trains load_digits (1,347 rows) 24 epochs and all of MNIST
# one, Keras's own default, where a model the user brings may take minutes
# an epoch; its training rules are off by default, so nothing needs more.
GENERAL_AUTO_EPOCHS_MIN = 1
# KerasRegressor's and KerasTransformer's epochs="auto" aim at
# REGRESSION_AUTO_STEPS steps: a regression network converges more slowly.
# Measured with MLPRegressor()'s network (100 relu units) and Keras's batch
# of 32, 5 folds of standardised load_diabetes (442 rows) and
# make_friedman1 (1,000 rows, noise 1), test R²: 1,000 steps 0.475 and
# 0.902, 2,000 steps 0.456 and 0.925, against MLPRegressor()'s 0.454 and
# 0.920.
REGRESSION_AUTO_STEPS = 2000
# KerasMLPRegressor: 20 epochs from a rate of 1e-2 decaying on a cosine to
# 0, no plateau rules. The same folds: R² 0.474 and 0.929 in 0.09 s and
# 0.12 s a fit, against MLPRegressor()'s 0.454 and 0.920 in 0.13 s and
# 0.25 s (the default MLP classifier's rules and rate: 0.452 and 0.941 in
# 0.56 s and 0.52 s; a rate of 1e-3: 0.480 and 0.922 in 0.27 s and 0.30 s).
MLP_REGRESSOR_EPOCHS = 20
MLP_REGRESSOR_LEARNING_RATE = 1e-2
# KerasClassifier's batch_size default (and what None means there), as
# Keras's fit and SciKeras.
KERAS_BATCH_SIZE = 32

# validation_fraction="auto": hold out AUTO_VALIDATION_FRACTION of the rows
# only when that makes at least AUTO_MIN_VALIDATION_ROWS; otherwise train on
# every row and monitor the training accuracy and loss. On load_digits a
# 10% hold-out is 135 rows, whose accuracy moves in steps of 0.74%: stopping
# and best-epoch choices made on it cost about one point of test accuracy
# (97.2% against 97.9%, 5 splits).
AUTO_VALIDATION_FRACTION = 0.1
AUTO_MIN_VALIDATION_ROWS = 1000

# -- compiling ----------------------------------------------------------------

# The MLP's epoch step is XLA-compiled when a fit may run this many steps:
# an XLA step of a small MLP costs about a third of a graph step, and
# compiling costs about 1 s more than tracing (0.7-1.4 s measured), once
# per architecture and data shape in a process (compiled trainers are
# reused, see _engine). A default fit on load_digits (91 epochs of 11 steps)
# is past it.
MIN_STEPS_FOR_XLA = 1000

# Compiled trainers kept for reuse per process (see _engine): a grid search
# refits a handful of shapes again and again.
TRAINER_CACHE_SIZE = 8

# -- learning-rate schedules -------------------------------------------------

# lr_schedule="one-cycle": the rate rises from ONE_CYCLE_START of its peak to
# the peak over the first ONE_CYCLE_WARMUP of the fit's steps, then falls to
# 0 (half cosines both ways).
ONE_CYCLE_WARMUP = 0.25
ONE_CYCLE_START = 0.1

# -- augmentation --------------------------------------------------------------

# KerasCNNClassifier's shift="auto": whole-pixel shifts of up to
# AUTO_SHIFT_PIXELS for images of at least AUTO_SHIFT_MIN_SIDE pixels a side,
# a sub-pixel translation of AUTO_SHIFT_FRACTION of the side for smaller
# ones. Measured with filters (8, 32, 32) and 8 one-cycle epochs on all of
# MNIST (seed 0): 2 pixels 99.47%, 1 pixel 99.36%; on load_digits (8x8,
# 5 stratified 75/25 splits): 2 pixels 95.2%, 1 pixel 98.4%, 0.05 98.98%.
AUTO_SHIFT_PIXELS = 2
AUTO_SHIFT_MIN_SIDE = 20
AUTO_SHIFT_FRACTION = 0.05

# -- calls of the engine -------------------------------------------------------

# Rows per compiled call for models other than dense stacks (which run a
# whole epoch per call): 16 CNN steps of 128 rows, about a second on all of
# MNIST, so that a progress bar moves and callbacks hear from the fit,
# while the call's own cost (about a millisecond) stays negligible.
ROWS_PER_CALL = 2048

# -- predicting ------------------------------------------------------------------

# Rows per forward pass at predict and validation time: fastest for the CNN
# (cache-sized activations), near the best for the MLP.
PREDICT_CHUNK = 512
