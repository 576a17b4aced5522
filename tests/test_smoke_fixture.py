"""The tiny random Qwen3 fixture loads with the real tokenizer (a pre-condition
of every real-model-path test)."""


def test_tiny_qwen3_loads(tiny_qwen3_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_qwen3_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen3_dir)
    assert tok.convert_tokens_to_ids("yes") == 9693
    assert tok.convert_tokens_to_ids("no") == 2152
    assert model.config.num_hidden_layers == 2
