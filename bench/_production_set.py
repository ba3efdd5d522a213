"""A synthetic production set for bench/generate: customer conversations with the support
example's shop, over 12 known intents, as varied text made with a seed.

Each intent has several phrasings (different words and sentence orders), filled with names,
order numbers, items, addresses and dates, and then roughened the way real traffic is: greetings
and sign-offs, a sentence of context, typos, lower case, missing punctuation. The intent label
is kept beside each conversation for scoring the benchmark only; costar never sees it.

Nine intents are what the support suite's scenarios cover; three (cancel an order, ask about
stock, ask for an invoice) are covered by no scenario. The phrasings of a covered intent share
at least one content word with a scenario of that intent ("human", "address", "refund"...),
as most real paraphrases do: TF-IDF compares words, so a paraphrase that shares none ("get me a
manager" for "let me talk to a human") reads as uncovered to it; that needs an embedding
model.
"""

from __future__ import annotations

import random

NAMES = [
    "Ana Silva", "Ben Okafor", "Chloe Martin", "Dev Patel", "Eva Novak", "Farid Haddad",
    "Grace Kim", "Hugo Laurent", "Ines Costa", "Jonas Berg", "Keiko Sato", "Liam Walsh",
    "Maya Cohen", "Nils Eriksen", "Olga Ivanova", "Pablo Ruiz", "Quinn Murphy", "Rosa Bianchi",
]  # fmt: skip
ITEMS = ["kettle", "toaster", "blender", "mug set", "coffee grinder", "teapot", "milk frother",
         "juicer", "waffle maker", "rice cooker"]  # fmt: skip
STREETS = ["Rua Augusta", "Canal St", "Main Street", "High Road", "Rue de Rivoli", "Elm Avenue",
           "Kings Way", "Baker Lane"]  # fmt: skip
CITIES = ["Lisbon", "Leeds", "Porto", "York", "Lyon", "Dublin", "Bristol", "Ghent"]
WHEN_LONG = ["two months ago", "back in March", "about 60 days ago", "in the spring",
             "last quarter", "ten weeks ago"]  # fmt: skip

# intent -> phrasings; {order}, {item}, {name}, {address}, {when}, {email} are filled in
INTENTS: dict[str, list[str]] = {
    "order_status": [
        "Where is my order {order}?",
        "Can you tell me where order {order} is?",
        "Where's my {item}? Order {order} still hasn't arrived.",
        "Order {order}: where is it? I'm still waiting for the delivery.",
        "I'd like to know where my order {order} is now, the status page says nothing.",
        "What's the status of my order {order}? Has it shipped?",
    ],
    "order_missing": [
        "Order {order} doesn't exist in your system? Where is it?",
        "I can't find order {order} in my account. Where did it go?",
        "Your site says order {order} does not exist but I paid for it.",
        "Where is order {order}? The tracking page says no such order.",
    ],
    "refund_damaged": [
        "My {item} (order {order}) arrived broken. Can I get my money back?",
        "The {item} from order {order} was damaged in transit, I'd like a refund.",
        "Order {order}: the {item} came cracked. Please refund me.",
        "I received a faulty {item}, order {order}. It's damaged and doesn't work, refund please.",
        "The box was crushed and the {item} inside is broken. Order {order}. I want a refund.",
    ],
    "refund_late": [
        "I'd like a refund for my {item}, order {order}. I bought it {when}.",
        "Can I still return the {item} I bought {when}? Order {order}, I want my money back.",
        "It's been a while, I got the {item} {when}, but can I get a refund for order {order}?",
        "Order {order} was delivered {when}. I changed my mind about the {item}, refund please.",
    ],
    "refund_unspecified": [
        "I want a refund.",
        "How do I get my money back?",
        "I need a refund please, how does it work?",
        "Refund. Now.",
        "I'd like to request a refund for something I bought.",
    ],
    "change_address": [
        "Please change the address of order {order} to {address}.",
        "I moved. Can you send order {order} to {address} instead?",
        "Can you update the delivery address for order {order}? The new one is {address}.",
        "Wrong address on order {order}! It should go to {address}.",
        "Could you ship order {order} to my new address, {address}?",
    ],
    "address_change_of_mind": [  # two turns, split at ||
        "Change the address of order {order} to {address}."
        " || Actually, never mind. Keep the old address.",
        "Please send order {order} to {address}. || Sorry, forget that, leave the address as is.",
        "Update the delivery address of {order} to {address}."
        " || Wait, no, keep the original address please.",
    ],
    "customer_email": [
        "What email do you have on file for me? I'm customer {customer}.",
        "Which email address is on my account? Customer number {customer}.",
        "Can you check the email you have for customer {customer}?",
        "I'm not getting your emails. What address do you have on file for customer {customer}?",
    ],
    "escalate_human": [
        "This is the third time I'm writing about this!!! Let me talk to a human.",
        "I want to talk to a human, not a bot.",
        "Can I speak to a human please? This chat isn't helping.",
        "Let me talk to a real person. A human, please.",
        "Get me a human agent, I'm fed up with this.",
    ],
    # covered by no scenario of the support suite
    "cancel_order": [
        "Please cancel order {order}, I don't need it anymore.",
        "I want to cancel my order {order} for the {item}.",
        "Can you cancel order {order} before it ships?",
        "I ordered the {item} by mistake. Cancel order {order} please.",
        "Cancel {order}. I found the {item} cheaper elsewhere.",
    ],
    "stock_availability": [
        "Is the {item} back in stock?",
        "When will you have the {item} in stock again?",
        "Do you have any {item}s available? It says sold out.",
        "I'd like to buy a {item} but it's out of stock. When do you restock?",
        "Are {item}s available to order right now, or still out of stock?",
    ],
    "invoice_request": [
        "Can you send me an invoice for order {order}? I need it for my company.",
        "I need a VAT invoice for order {order}, with my company name on it.",
        "Please email me the invoice for the {item}, order {order}, for my expenses.",
        "Where can I download the invoice for order {order}? My accountant needs it.",
    ],
}
UNCOVERED = ("cancel_order", "stock_availability", "invoice_request")
# share of traffic per intent (unequal, as real traffic is; the uncovered ones are small)
WEIGHTS = {
    "order_status": 18, "order_missing": 5, "refund_damaged": 14, "refund_late": 7,
    "refund_unspecified": 6, "change_address": 11, "address_change_of_mind": 4,
    "customer_email": 7, "escalate_human": 8, "cancel_order": 8, "stock_availability": 7,
    "invoice_request": 5,
}  # fmt: skip

OPENERS = ["", "", "Hi, ", "Hello, ", "Hi there. ", "Good morning. ", "Hey, ", "Hello team, "]
CLOSERS = ["", "", " Thanks!", " Thank you.", " Cheers", " Thanks in advance.", " Regards, {first}"]
# a sentence of context in about a third of the conversations, from a varied pool (real traffic
# rarely repeats one aside word for word)
CONTEXT = [
    " I've been a customer for years.", " My name is {name}.", " I'm writing from my phone.",
    " I tried the website first.", " It's {first} here.", " I'm at work right now.",
    " This is my second message.", " My partner placed the order.", " I'm abroad this week.",
    " Sorry for the long message.", " Your app keeps logging me out.", " I'm in a hurry.",
    " It was a gift.", " I live in {city}.", " I called yesterday but nobody answered.",
    " I hope you can help.", " First time ordering from you.", " I'm on the train.",
    " Quick question.", " My English is not perfect.", " My account is under {name}.",
    " I read your FAQ.", " This is urgent.", " Just so you know, I love your shop.",
]  # fmt: skip
CONTEXT_RATE = 0.35


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped


def _roughen(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    if rng.random() < 0.35:  # a typo or two
        for _ in range(rng.randint(1, 2)):
            j = rng.randrange(len(words))
            words[j] = _typo(words[j], rng)
    text = " ".join(words)
    if rng.random() < 0.25:
        text = text.lower()
    if rng.random() < 0.2:
        text = text.replace(".", "").replace("?", "").replace("!", "")
    return text


def _fill(template: str, rng: random.Random) -> str:
    name = rng.choice(NAMES)
    values = {
        "order": str(rng.randint(1000, 9999)),
        "customer": str(rng.randint(1, 500)),
        "item": rng.choice(ITEMS),
        "name": name,
        "first": name.split()[0],
        "address": f"{rng.randint(1, 99)} {rng.choice(STREETS)}, {rng.choice(CITIES)}",
        "when": rng.choice(WHEN_LONG),
        "city": rng.choice(CITIES),
    }
    return template.format(**values)


def _shuffle_sentences(text: str, rng: random.Random) -> str:
    parts = [p.strip() for p in text.replace("? ", "?|").replace(". ", ".|").split("|")]
    if len(parts) > 1 and rng.random() < 0.3:
        rng.shuffle(parts)
    return " ".join(parts)


def conversation(intent: str, rng: random.Random) -> list[str]:
    """The user's turns of one conversation of this intent."""
    template = rng.choice(INTENTS[intent])
    turns = []
    for k, part in enumerate(template.split(" || ")):
        text = _shuffle_sentences(_fill(part, rng), rng)
        if k == 0:
            context = _fill(rng.choice(CONTEXT), rng) if rng.random() < CONTEXT_RATE else ""
            text = rng.choice(OPENERS) + text + context
            text += _fill(rng.choice(CLOSERS), rng)
        turns.append(_roughen(text, rng))
    return turns


def production_set(n: int, seed: int = 7) -> list[tuple[str, list[str]]]:
    """`n` (intent, user turns) pairs, intents drawn by WEIGHTS, all from one seed."""
    rng = random.Random(seed)
    names = sorted(INTENTS)
    weights = [WEIGHTS[k] for k in names]
    return [(intent, conversation(intent, rng)) for intent in rng.choices(names, weights, k=n)]
