"""LlamaIndex integration for DashScope workspaces."""
