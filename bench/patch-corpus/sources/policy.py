"""The policy: a softmax over answers, with one row of logits per question (a "logit table").

It is the simplest policy that can learn the task: pi(answer | question) = softmax(logits[question]).
Nothing is shared between questions, so everything it learns comes from the training signal on
that very question. The forward pass is a table look-up; the backward pass subtracts
lr * d(loss)/d(logits) from the looked-up row.
"""


class TablePolicy:
    def __init__(self, n_questions, n_answers, rng, init_std):
        # Random initial logits: before training, every question has its own arbitrary
        # preferences among the answers (like an untrained network would).
        self.logits = [[rng.gauss(0.0, init_std) for _ in range(n_answers)]
                       for _ in range(n_questions)]

    def copy(self):
        other = object.__new__(TablePolicy)
        other.logits = [row[:] for row in self.logits]
        return other

    def forward(self, question):
        """The logits of pi(. | question) (a copy: the caller may keep it across updates)."""
        return self.logits[question][:]

    def sgd_step(self, questions, dlogits, lr):
        """Plain SGD: logits -= lr * d(loss)/d(logits), for each (question, gradient) pair."""
        for q, grad in zip(questions, dlogits):
            self.logits[q] = [z - lr * g for z, g in zip(self.logits[q], grad)]
