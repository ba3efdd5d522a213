"""Texts as comparable vectors, and groups of similar texts; deterministic.

By default no model is involved: TF-IDF over words and word pairs (scikit-learn's
`TfidfVectorizer`, sublinear term frequency, English stop words and numbers left out) beside
TF-IDF over character 3- to 5-grams of the same words (so "refnud" still meets "refund":
real traffic has typos), the two halves weighted alike. From LSA_MIN_TEXTS texts on it is
reduced by latent semantic analysis (`TruncatedSVD`, seeded) twice: to LSA_DIMS dimensions
(`vectors`, fine enough to tell one intent's phrasings from another's: grouping) and to
COARSE_DIMS (`coarse`, where texts that share context come close even when they share few
words: comparing production with scenarios). Rows are scaled to unit length: the dot product
of two rows is their cosine similarity. With an embedding model (`embedding_model`, through
costar.llm) its vectors are used for both. Either way the word TF-IDF names groups by their
most distinctive terms.

Grouping is agglomerative clustering (average linkage over cosine distance, no randomness), on
at most `SAMPLE` texts drawn with the seed; the rest join the group of their nearest member
centroid, so memory stays bounded for large production sets.

scikit-learn is imported here only, on first use (`costar --help` never loads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from costar._exceptions import ConfigError

SAMPLE = 3000  # texts clustered directly; the rest are assigned to the nearest group
LSA_DIMS = 100
COARSE_DIMS = 30  # the space production is compared with scenarios in
LSA_MIN_TEXTS = 200  # fewer texts carry too little co-occurrence for LSA: plain TF-IDF
TOKENS = r"(?u)\b[^\W\d_]{2,}\b"  # words of two letters or more; no numbers or ids
# question words and negations carry what a user wants ("where is", "not arrived"): kept
INTENT_WORDS = frozenset(
    {"where", "when", "how", "what", "why", "which", "who", "not", "no", "never", "cannot"}
)
# greetings and courtesies say nothing about what a conversation is about
CHAT_WORDS = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "dear",
        "thanks",
        "thank",
        "cheers",
        "regards",
        "please",
        "morning",
        "afternoon",
        "evening",
        "team",
        "ok",
        "okay",
        "sorry",
        "yes",
        "hope",
        "help",
        "quick",
        "question",
        "just",
        "kind",
        "best",
        "wishes",
    }
)


def _sklearn() -> Any:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "scenario generation, coverage and discovery need scikit-learn: "
            "pip install 'costar[generate]'"
        ) from exc
    return sklearn


@dataclass
class Space:
    """Texts as unit-length rows (`vectors` to group, `coarse` to compare with scenarios),
    and the word TF-IDF matrix that names groups."""

    vectors: Any  # numpy array (n, d), rows of unit length
    tfidf: Any  # scipy sparse matrix (n, vocabulary)
    terms: Any  # numpy array of the vocabulary
    representation: str
    coarse: Any = None  # numpy array (n, d'), rows of unit length; None: the same as vectors

    @property
    def compared(self) -> Any:
        """The rows that production and scenarios are compared in."""
        return self.vectors if self.coarse is None else self.coarse

    def similarity(self, rows: Any, other: Any) -> Any:
        """Cosine similarity (in the compared space) of every row in `rows` to every row in
        `other` (index arrays)."""
        return self.compared[rows] @ self.compared[other].T


def _char_tfidf(docs: list[str], words: Any, min_df: int) -> Any:
    """TF-IDF of the character 3- to 5-grams of each text's words (stop words, numbers and
    one-letter words left out, as in the word TF-IDF)."""
    import re

    from sklearn.feature_extraction.text import TfidfVectorizer

    pattern = re.compile(TOKENS)
    cleaned = [" ".join(w for w in pattern.findall(d.lower()) if w not in words) for d in docs]
    vectorizer = TfidfVectorizer(
        sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5), min_df=min_df
    )
    try:
        return vectorizer.fit_transform(cleaned)
    except ValueError:  # no word left in any text
        return None


def embed_texts(
    texts: list[str], embedding_model: str | None = None, seed: int = 0, characters: bool = True
) -> Space:
    """One space for all `texts` (fit on them together, so their weights are comparable).
    `characters=False` leaves the character grams out: for written texts (no typos to bridge),
    where they would only bring short texts that share a common word closer."""
    _sklearn()
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
    from sklearn.preprocessing import normalize

    docs = [t if t.strip() else "(empty)" for t in texts]
    stop = (ENGLISH_STOP_WORDS - INTENT_WORDS) | CHAT_WORDS
    min_df = 1 if len(docs) < 50 else 2
    chars = None
    try:
        vectorizer = TfidfVectorizer(
            sublinear_tf=True,
            ngram_range=(1, 2),
            stop_words=sorted(stop),
            token_pattern=TOKENS,
            min_df=min_df,
        )
        tfidf = vectorizer.fit_transform(docs)
        terms = vectorizer.get_feature_names_out()
        chars = _char_tfidf(docs, stop, min_df) if characters else None
    except ValueError:  # nothing but stop words and numbers: a vocabulary of one marker
        vectorizer = TfidfVectorizer(token_pattern=r"\S+")
        tfidf = vectorizer.fit_transform(["text"] * len(docs))
        terms = vectorizer.get_feature_names_out()
    if embedding_model:
        from costar.llm import get_client

        dense = np.asarray(get_client(embedding_model).embed(docs), dtype=float)
        return Space(normalize(dense), tfidf, terms, f"embeddings {embedding_model}")
    both = tfidf if chars is None else hstack([normalize(tfidf), normalize(chars)]).tocsr()
    dims = min(LSA_DIMS, both.shape[0] // 2, both.shape[1] - 1)
    if both.shape[0] >= LSA_MIN_TEXTS and dims >= 2:
        from sklearn.decomposition import TruncatedSVD

        dense = TruncatedSVD(dims, random_state=seed).fit_transform(both)
        coarse = min(COARSE_DIMS, dims)
        # the leading components of a truncated SVD are those of a shorter one: no second fit
        return Space(
            normalize(dense),
            tfidf,
            terms,
            f"tf-idf words{' + characters' if chars is not None else ''}, lsa({dims}) to group, "
            f"lsa({coarse}) to compare",
            normalize(dense[:, :coarse]),
        )
    how = "tf-idf words + characters" if chars is not None else "tf-idf"
    return Space(normalize(both.toarray()), tfidf, terms, how)


def agglomerate(vectors: Any, distance: float, seed: int = 0, sample_size: int = SAMPLE) -> Any:
    """Group labels (one per row): average-linkage clusters whose members are on average within
    cosine `distance`; deterministic. Past `sample_size` rows, a sample drawn with the seed is
    clustered and every other row joins the group whose centroid is nearest."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    n = vectors.shape[0]
    if n == 1:
        return np.zeros(1, dtype=int)
    sample = np.arange(n)
    if n > sample_size:
        sample = np.sort(np.random.default_rng(seed).choice(n, sample_size, replace=False))
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    )
    part = model.fit_predict(vectors[sample])
    if n == len(sample):
        return part
    centroids = np.vstack([vectors[sample[part == g]].mean(axis=0) for g in range(part.max() + 1)])
    labels = np.argmax(vectors @ centroids.T, axis=1)
    labels[sample] = part
    return labels


def top_terms(space: Space, rows: Any, k: int = 4) -> list[str]:
    """The `k` terms that weigh most in these rows, longer phrases first among equals."""
    import numpy as np

    weights = np.asarray(space.tfidf[rows].mean(axis=0)).ravel()
    order = np.lexsort((-np.char.str_len(space.terms.astype(str)), -weights))
    picked: list[str] = []
    for i in order:
        if weights[i] <= 0 or len(picked) >= k:
            break
        term = str(space.terms[i])
        if not any(term in p or p in term for p in picked):  # no "order" beside "cancel order"
            picked.append(term)
    return picked
