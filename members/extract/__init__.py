"""Label extraction: member descriptions (paragraphs) -> the person's emotion words.

Extractors (registered in core.registry; config `extractor: {type: ..., ...}`):
  rules    RuleExtractor: deterministic, lexicon forms in the concluding sentences, negation and
           list examples resolved (the default).
  learned  LearnedExtractor: logistic regression over candidate facts; fitted state in a JSON file
           (`state: PATH`, written by experiments/extract_fit.py).
  llm      LLMExtractor: an OpenAI-compatible chat server (lmdeploy api_server, vLLM), cached on disk.
The member type ExtractingMember (`type: described`) answers with extracted labels, and
`run_ensemble.py extract` writes them to a `name,openset` file.
"""
