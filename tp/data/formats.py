"""The file formats and split names a data source may use: shared by the table and the image readers."""

TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet")
SPLIT_FILE_NAMES = {"train": "train", "test": "test", "validation": "validation",
                    "valid": "validation", "dev": "validation"}
