"""The maze solver app: LLM planning plus reinforcement learning, acting through syscalls."""
