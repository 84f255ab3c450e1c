"""The small corpus and questions shared by the end-to-end RAG tests."""

from __future__ import annotations

# Six short factual paragraphs on distinct topics, two in Chinese.
CORPUS: dict[str, str] = {
    "eiffel": (
        "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. "
        "The iron tower is about 330 metres tall."
    ),
    "hangzhou": "杭州是浙江省的省会。西湖是杭州最著名的景点，每年吸引大量游客。",
    "photosynthesis": (
        "Photosynthesis lets green plants turn sunlight, water and carbon dioxide into "
        "glucose and oxygen. It takes place in the chloroplasts."
    ),
    "greatwall": "长城是中国古代的军事防御工程。长城全长两万多公里，横跨多个省份。",
    "python": (
        "Python is a programming language created by Guido van Rossum. "
        "It was first released in 1991."
    ),
    "everest": (
        "Mount Everest is the highest mountain above sea level. "
        "It stands 8,849 metres tall on the border of Nepal and China."
    ),
}

# (question, id of the document that answers it, a fragment the answer must contain)
QUESTIONS: list[tuple[str, str, str]] = [
    ("Who created the Python programming language?", "python", "Guido van Rossum"),
    ("杭州最著名的景点是什么？", "hangzhou", "西湖"),
]
