"""Explanation quality over training: the math (`measures`), deletion/insertion curves
(`faithfulness`), the per-round tracker (`tracker`) and what the numbers mean
(`verdicts`: directions, means, the sanity flag). `measures` and `verdicts` import no
TensorFlow; the plugin uses only `verdicts`."""
