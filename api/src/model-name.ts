/**
 * Model names as the sidecar accepts them from a request body, before they reach metrics labels,
 * Redis keys and hash fields, and the ledger's primary key: letters, digits and `._:/@+-` (which
 * cover OpenAI fine-tunes `ft:gpt-4o:org::id`, Bedrock ids `anthropic.claude-3-5-sonnet-v2:0`,
 * Hugging Face repos `meta-llama/Llama-3.1-8B` and Ollama tags `qwen2.5:7b`), at most 256 of them.
 * `|` separates the fields of a usage counter and is never part of a name.
 */
export const MODEL_NAME_MAX_LENGTH = 256
const MODEL_NAME = /^[A-Za-z0-9._:/@+-]+$/

/** isModelName reports whether a model name is one the sidecar counts. */
export const isModelName = (model: string): boolean =>
  model.length > 0 && model.length <= MODEL_NAME_MAX_LENGTH && MODEL_NAME.test(model)
