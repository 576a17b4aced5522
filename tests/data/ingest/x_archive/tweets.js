window.YTD.tweets.part0 = [
  {
    "tweet": {
      "id_str": "1300000000000000001",
      "id": "1300000000000000001",
      "full_text": "My first post about the mascot",
      "created_at": "Mon Jan 02 10:00:00 +0000 2024",
      "favorite_count": "1",
      "retweet_count": "0",
      "lang": "en",
      "entities": {
        "hashtags": [],
        "user_mentions": []
      }
    }
  },
  {
    "tweet": {
      "id_str": "1300000000000000002",
      "id": "1300000000000000002",
      "full_text": "Second one, with &lt;3",
      "created_at": "Mon Jan 03 10:00:00 +0000 2024",
      "favorite_count": "2",
      "retweet_count": "0",
      "lang": "en",
      "entities": {
        "hashtags": [],
        "user_mentions": []
      }
    }
  }
]