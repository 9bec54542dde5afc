"""TensorFlow process settings shared by training and serving."""


def limit_threads() -> None:
    """One intra-op and one inter-op thread: the CPU is shared with other workers."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow already started in this process (another model set it up)
