window.YTD.tweets.part1 = [
  {
    "tweet": {
      "id_str": "1300000000000000003",
      "id": "1300000000000000003",
      "full_text": "Third post, in the second part file",
      "created_at": "Mon Jan 04 10:00:00 +0000 2024",
      "favorite_count": "3",
      "retweet_count": "0",
      "lang": "en",
      "entities": {
        "hashtags": [],
        "user_mentions": []
      }
    }
  }
]