"""LangChain integration for DashScope workspaces."""
