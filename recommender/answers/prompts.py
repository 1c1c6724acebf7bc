"""The grounding prompt every model provider sends: numbered references, then the question."""
from recommender.answers.base import Reference

REFERENCE_MAX_CHARS = 1500  # of each reference's text: five of them fit a small model's context

SYSTEM = {
    "zh": (
        "你是一个内容资料库的问答助手。只根据下面编号的参考资料回答问题，不要使用资料以外的知识。"
        "每一句话后面用方括号标出它依据的资料编号，例如[1]或[2][3]。"
        "如果参考资料不能回答这个问题，就直接说资料库中没有答案，不要编造。回答用中文，不超过300字。"
    ),
    "en": (
        "You answer questions for a content library. Answer only from the numbered references below, never "
        "from anything else you know. End every sentence with the number of the reference it rests on in square "
        "brackets, such as [1] or [2][3]. If the references do not answer the question, say that the library has "
        "no answer; never invent one. Answer in English, in at most 150 words."
    ),
}


def reference_block(references: list[Reference]) -> str:
    return "\n\n".join(f"[{n}] {r.title}\n{r.text[:REFERENCE_MAX_CHARS]}" for n, r in enumerate(references, start=1))


def messages(question: str, references: list[Reference], *, language: str) -> list[dict]:
    lang = "zh" if language == "zh" else "en"
    label = ("参考资料", "问题") if lang == "zh" else ("References", "Question")
    user = f"{label[0]}:\n{reference_block(references)}\n\n{label[1]}: {question}"
    return [{"role": "system", "content": SYSTEM[lang]}, {"role": "user", "content": user}]


def analysis_messages(category: str, references: list[Reference], *, language: str) -> list[dict]:
    """The prompt for an industry analysis drawn from recent articles of one category."""
    if language == "zh":
        system = (SYSTEM["zh"].replace("回答问题", "撰写行业分析").replace("不超过300字", "600字左右")
                  + "分析要归纳几篇资料共同反映的趋势、数据和分歧。")
        task = f"请根据参考资料写一篇关于“{category}”行业近况的分析。"
    else:
        system = (SYSTEM["en"].replace("answer questions", "write industry analyses").replace(
            "in at most 150 words", "in about 400 words") + " Draw out the trends, figures and disagreements "
            "the references share.")
        task = f"Write an analysis of recent developments in {category} from the references."
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"{reference_block(references)}\n\n{task}"}]
