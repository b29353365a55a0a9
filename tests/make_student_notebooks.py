"""Write the student notebooks of ``tests/students/`` (they are committed; rerun after editing).

    python tests/make_student_notebooks.py tests/students
"""
import nbformat
from nbformat.v4 import new_code_cell as code, new_markdown_cell as md, new_notebook

IMPORTS = """from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.regularizers import l2
from tensorflow.keras.optimizers import Adam"""
DATA = "X, y = make_classification(n_samples=2000, n_features=500, n_classes=2, random_state=42)"
SPLIT = ("X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)\n"
         "X_train.shape, X_test.shape")
MODEL = """model = Sequential()
model.add(Dense(256, activation='relu', kernel_regularizer=l2(0.001), input_shape=(500,)))
model.add(Dense(128, activation='relu', kernel_regularizer=l2(0.001)))
model.add(Dropout(0.3))
model.add(Dense(64, activation='relu', kernel_regularizer=l2(0.001)))
model.add(Dense(1, activation='sigmoid'))
model.summary()"""
COMPILE = "model.compile(optimizer=Adam(learning_rate=0.001), loss='binary_crossentropy', metrics=['accuracy'])"
FIT = "history = model.fit(X_train, y_train, epochs=50, batch_size=32, validation_split=0.2, verbose=0)"
EVALUATE = "test_loss, test_acc = model.evaluate(X_test, y_test, verbose=0)\nprint('Test accuracy:', test_acc)"
PLOT = """plt.plot(history.history['loss'], label='train')
plt.plot(history.history['val_loss'], label='validation')
plt.xlabel('Epoch')
plt.ylabel('Loss')
plt.legend()
plt.show()"""


def steps(header, imports=IMPORTS, data=DATA, split=SPLIT, model=MODEL, compile_=COMPILE,
          fit=FIT, evaluate=EVALUATE, extra=(), headings=True):
    cells = [code(header), code(imports)]
    for title, body in (("## Step 1: Generate the data", data), ("## Step 2: Split the data", split),
                        ("## Step 3: Build the model", model), ("## Step 4: Compile", compile_),
                        ("## Step 5: Train", fit), ("## Step 6: Evaluate", evaluate)):
        if headings:
            cells.append(md(title))
        cells.append(code(body))
    cells += [code(c) if not c.startswith("md:") else md(c[3:]) for c in extra]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                              "display_name": "Python 3"}})


NOTEBOOKS = {
    "nb_display_tuple_summary_plot": steps(
        "# expect-fail:\n# A correct notebook: displays a tuple, model.summary(), an inline loss plot",
        imports="%matplotlib inline\n" + IMPORTS + "\nimport matplotlib.pyplot as plt",
        extra=["md:## Bonus: training vs validation loss", PLOT]),
    "nb_starred_multiline_display": steps(
        "# expect-fail:\n# Last expressions Jupyter displays: starred, over several lines, display()",
        data=DATA + "\n*X.shape, y.shape",
        split=SPLIT.replace("X_train.shape, X_test.shape",
                            "(X_train.shape,\n X_test.shape,\n y_train.mean())"),
        model=MODEL.replace("model.summary()", "display(model)\nlen(model.layers)"),
        fit=FIT + "\nhistory.history.keys()",
        evaluate="model.evaluate(X_test, y_test, verbose=0)"),
    "nb_magics_pip_time": steps(
        "# expect-fail:\n# Magics and shell escapes students leave in: !pip, %time, %%time, %who",
        imports="!pip install tensorflow scikit-learn\n" + IMPORTS,
        fit="%time " + FIT, evaluate="%%time\n" + EVALUATE + "\n%who"),
    "nb_typo_second_layer": steps(
        "# expect-fail: runs hidden_layers decreasing_widths l2 dropout hidden_activations "
        "output_layer loss training prints_accuracy loss_decreases accuracy\n"
        "# `activaton=` in the second layer: the crash, and nothing false about the model",
        model=MODEL.replace("(Dense(128, activation='relu'", "(Dense(128, activaton='relu'")),
    "nb_typo_data": steps(
        "# expect-fail: runs data split hidden_layers decreasing_widths l2 dropout "
        "hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy\n"
        "# `make_clasification`: stops at step 1",
        data=DATA.replace("make_classification(", "make_clasification(")),
    "nb_plotly_plot": steps(
        "# expect-fail: runs data split hidden_layers decreasing_widths l2 dropout "
        "hidden_activations output_layer loss training prints_accuracy loss_decreases accuracy\n"
        "# plotly imported with the rest (the grader's environment does not have it)",
        imports=IMPORTS + "\nimport plotly.express as px\nimport matplotlib.pyplot as plt"),
    "nb_no_headings_typo_evaluate": steps(
        "# expect-fail: runs prints_accuracy\n# no markdown at all; `model.evalute` in the last cell",
        evaluate="loss, acc = model.evalute(X_test, y_test)\nprint(acc)", headings=False),
}

if __name__ == "__main__":
    import sys
    from pathlib import Path

    for name, notebook in NOTEBOOKS.items():
        nbformat.validator.normalize(notebook)
        nbformat.write(notebook, str(Path(sys.argv[1]) / f"{name}.ipynb"))
