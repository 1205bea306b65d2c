"""What the extractive answerer says around its quotes, in Vietnamese and English: the
lead before a quote, the reply when the article is silent, the metadata answers, and the
notice shown when the span reader cannot be used."""

from __future__ import annotations

MESSAGES = {
    "vi": {
        "lead": "Theo bài viết: ",
        "short": "{short}. Bài viết nêu: ",
        "silent": "Bài viết không đề cập đến thông tin này. Các đoạn liên quan nhất được liệt kê bên dưới "
        "để bạn tham khảo, không phải là câu trả lời.",
        "meta_author": "Tác giả bài viết: {short}. ",
        "meta_date": "Bài viết được đăng ngày {short}. ",
        "meta_title": "Tiêu đề bài viết: ",
        "meta_topic": "Bài viết nói về: ",
        "reader_unavailable": "Mô hình đọc hiểu hiện không dùng được ({err}); câu trả lời này do bộ quy tắc "
        "trích dẫn đưa ra.",
    },
    "en": {
        "lead": "According to the article: ",
        "short": "{short}. The article says: ",
        "silent": "The article does not say. The closest passages are listed below as related reading, "
        "not as an answer.",
        "meta_author": "The article's author: {short}. ",
        "meta_date": "The article was published on {short}. ",
        "meta_title": "The article's title: ",
        "meta_topic": "The article is about: ",
        "reader_unavailable": "The reading model is unavailable ({err}); this answer comes from the rule-based "
        "answerer.",
    },
}
